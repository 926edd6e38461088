package controller

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// difference is one managed field where Spaces differs from the spec, in
// words: its spec path, what Spaces has, what the spec says.
type difference struct{ field, has, wants string }

func (d difference) String() string {
	return d.field + ": Spaces has " + d.has + ", the spec says " + d.wants
}

// diffSpace compares the managed fields of spec with the observed space and
// returns the partial update that brings Spaces to the spec, with the names
// of the fields it changes (spec field paths, for events). Fields the spec
// leaves out are not managed and never appear.
func diffSpace(spec *spacesv1alpha1.SpaceSpec, observed *spaces.Space) (spaces.SpaceUpdate, []string) {
	u, diffs := compareSpace(spec, observed)
	var fields []string
	for _, d := range diffs {
		fields = append(fields, d.field)
	}
	return u, fields
}

// compareSpace is diffSpace with each difference worded.
func compareSpace(spec *spacesv1alpha1.SpaceSpec, observed *spaces.Space) (spaces.SpaceUpdate, []difference) {
	var u spaces.SpaceUpdate
	var diffs []difference
	differ := func(field string, has, wants any) {
		diffs = append(diffs, difference{field, fmt.Sprint(has), fmt.Sprint(wants)})
	}
	if spec.Title != observed.Title {
		u.Title = &spec.Title
		differ("title", strconv.Quote(observed.Title), strconv.Quote(spec.Title))
	}
	if spec.Description != nil && *spec.Description != observed.Description {
		u.Description = spec.Description
		differ("description", strconv.Quote(observed.Description), strconv.Quote(*spec.Description))
	}
	st := spec.Settings
	if st == nil {
		return u, diffs
	}
	settings := &spaces.SpaceSettingsUpdate{}
	if st.MemberOnly != nil && *st.MemberOnly != deref(observed.Settings.MemberOnly) {
		settings.MemberOnly = st.MemberOnly
		differ("settings.memberOnly", deref(observed.Settings.MemberOnly), *st.MemberOnly)
	}
	if st.AllowPasswordInURL != nil && *st.AllowPasswordInURL != deref(observed.Settings.AllowPasswordInURL) {
		settings.AllowPasswordInURL = st.AllowPasswordInURL
		differ("settings.allowPasswordInURL", deref(observed.Settings.AllowPasswordInURL), *st.AllowPasswordInURL)
	}
	var allGuests *bool
	if pr := observed.Settings.PasswordRequired; pr != nil {
		allGuests = pr.AllGuests
	}
	if st.GuestsRequirePassword != nil && *st.GuestsRequirePassword != deref(allGuests) {
		settings.PasswordRequired = &spaces.PasswordRequired{AllGuests: st.GuestsRequirePassword}
		differ("settings.guestsRequirePassword", deref(allGuests), *st.GuestsRequirePassword)
	}
	if *settings != (spaces.SpaceSettingsUpdate{}) {
		u.Settings = settings
	}
	if st.DenyGuestHistory != nil {
		has := slices.Contains(observed.Restrict, spaces.RestrictDenyGuestHistory)
		if *st.DenyGuestHistory != has {
			// Other restrictions are not ours: keep them.
			restrict := slices.DeleteFunc(slices.Clone(observed.Restrict), func(s string) bool { return s == spaces.RestrictDenyGuestHistory })
			if *st.DenyGuestHistory {
				restrict = append(restrict, spaces.RestrictDenyGuestHistory)
			}
			if restrict == nil {
				restrict = []string{}
			}
			u.Restrict = &restrict
			differ("settings.denyGuestHistory", has, *st.DenyGuestHistory)
		}
	}
	if mr := st.MessageRetention; mr != nil {
		want := spaces.MsgRetention{RetentionType: spaces.RetentionTypeForever}
		if mr.Policy == spacesv1alpha1.RetentionDeleteAfterDays && mr.Days != nil {
			want = spaces.MsgRetention{RetentionType: spaces.RetentionTypeDeleteAfterDays, RetentionLength: int(*mr.Days)}
		}
		have := observed.MsgRetention
		if have == nil {
			have = &spaces.MsgRetention{RetentionType: spaces.RetentionTypeForever}
		}
		if want.RetentionType != have.RetentionType || (want.RetentionType == spaces.RetentionTypeDeleteAfterDays && want.RetentionLength != have.RetentionLength) {
			// notInheritParentPolicy is not ours to decide: keep it.
			want.NotInheritParentPolicy = have.NotInheritParentPolicy
			u.MsgRetention = &want
			differ("settings.messageRetention", retentionWords(*have), retentionWords(want))
		}
	}
	return u, diffs
}

// retentionWords is a retention policy as the spec words it.
func retentionWords(rt spaces.MsgRetention) string {
	if rt.RetentionType == spaces.RetentionTypeDeleteAfterDays {
		return fmt.Sprintf("%s %d", spacesv1alpha1.RetentionDeleteAfterDays, rt.RetentionLength)
	}
	return string(spacesv1alpha1.RetentionForever)
}

// diffOwnSpace is diffSpace for the object's own space: a description
// that is still one of its create tickets is replaced even when the spec
// leaves the description alone, since the operator put it there.
func diffOwnSpace(sp *spacesv1alpha1.Space, observed *spaces.Space) (spaces.SpaceUpdate, []string) {
	u, fields := diffSpace(&sp.Spec, observed)
	if u.Description == nil && holdsTicketOf(observed.Description, sp.UID) {
		u.Description = ptrTo("")
		fields = append(fields, "description")
	}
	if u.Settings != nil {
		completeSettings(&u, observed)
	}
	return u, fields
}

// initialUpdate is the first settings write to a space just created with a
// create ticket as its description: the spec's description (or none), and
// every managed setting the spec sets. The booleans are sent whatever their
// value, since a new space's defaults are not known; restrictions and
// retention are diffed against a new space's presumed defaults (none, and
// the company's policy), and the answer shows whether that held.
func initialUpdate(spec *spacesv1alpha1.SpaceSpec) (spaces.SpaceUpdate, []string) {
	u, fields := diffSpace(spec, &spaces.Space{Title: spec.Title})
	if u.Description == nil {
		u.Description = ptrTo("")
		fields = append(fields, "description")
	}
	if st := spec.Settings; st != nil {
		settings := spaces.SpaceSettingsUpdate{MemberOnly: st.MemberOnly, AllowPasswordInURL: st.AllowPasswordInURL}
		if st.GuestsRequirePassword != nil {
			settings.PasswordRequired = &spaces.PasswordRequired{AllGuests: st.GuestsRequirePassword}
		}
		if settings != (spaces.SpaceSettingsUpdate{}) {
			u.Settings = &settings
		}
	}
	return u, fields
}

// completeSettings fills what a settings write leaves out with what the
// space has (read, never presumed): whether Spaces merges a settings write
// or replaces the whole object is INFERRED, and under replace a partial
// object would reset the rest, restrictions and retention included where
// they live under settings.
func completeSettings(u *spaces.SpaceUpdate, observed *spaces.Space) {
	if u.Restrict == nil {
		restrict := append([]string{}, observed.Restrict...)
		u.Restrict = &restrict
	}
	if u.MsgRetention == nil && observed.MsgRetention != nil {
		rt := *observed.MsgRetention
		u.MsgRetention = &rt
	}
	settings, have := u.Settings, observed.Settings
	if settings.MemberOnly == nil {
		settings.MemberOnly = ptrTo(deref(have.MemberOnly))
	}
	if settings.AllowPasswordInURL == nil {
		settings.AllowPasswordInURL = ptrTo(deref(have.AllowPasswordInURL))
	}
	if settings.PasswordRequired == nil {
		var allGuests bool
		if have.PasswordRequired != nil {
			allGuests = deref(have.PasswordRequired.AllGuests)
		}
		settings.PasswordRequired = &spaces.PasswordRequired{AllGuests: ptrTo(allGuests)}
	}
}

func deref(b *bool) bool { return b != nil && *b }

// webURL is the link that opens a space in the Spaces web app, for the API
// the credential uses; for other APIs (a fake, a proxy), the API's own host.
func webURL(apiBase, id string) string {
	u, err := url.Parse(apiBase)
	if err != nil {
		return ""
	}
	switch u.Host {
	case "spacesapis.avayacloud.com":
		return "https://spaces.avayacloud.com/spaces/" + id
	case "loganstagingapis.esna.com":
		return "https://loganstaging.esna.com/spaces/" + id
	default:
		return u.Scheme + "://" + u.Host + "/spaces/" + id
	}
}
