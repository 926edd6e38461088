// Package export writes Space (and SpaceInvite) manifests for the spaces a
// service account administers, so that a company's existing spaces can be
// brought under Git: spacesctl export prints them, an account that allows
// adoption applies them, and the operator adopts each space without a
// write, since the manifests say what Spaces already holds.
package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// API is what an export reads of Spaces.
type API interface {
	Me(ctx context.Context) (*spaces.User, error)
	MySpaces(ctx context.Context, q spaces.MySpacesQuery) ([]spaces.Space, error)
	GetSpace(ctx context.Context, id string) (*spaces.Space, error)
	SpaceMembers(ctx context.Context, spaceID string) ([]spaces.Member, error)
}

// Options shape the manifests.
type Options struct {
	// Namespace of every object.
	Namespace string
	// Title keeps only spaces whose title it matches (nil: all).
	Title *regexp.Regexp
	// Members adds a SpaceInvite per space with its current members.
	Members bool
	// AccountRef or CredentialsRef: where the objects get their key (at
	// most one; neither: the operator's default account).
	AccountRef, CredentialsRef string
}

// Result is the manifests and what was left out, and why.
type Result struct {
	YAML    []byte
	Spaces  int
	Skipped []string
}

// Export lists the group spaces of the service account and writes, for each
// it administers, a Space with spec.spaceID and the title, description and
// settings Spaces reports (and with Members, a SpaceInvite of its members).
// It only reads; it never writes a secret.
func Export(ctx context.Context, api API, opts Options) (*Result, error) {
	if opts.AccountRef != "" && opts.CredentialsRef != "" {
		return nil, fmt.Errorf("give at most one of -account and -credentials")
	}
	me, err := api.Me(ctx)
	if err != nil {
		return nil, err
	}
	list, err := api.MySpaces(ctx, spaces.MySpacesQuery{TopicType: "group"})
	if err != nil {
		return nil, err
	}
	res := &Result{}
	var out bytes.Buffer
	names := map[string]bool{}
	for _, item := range list {
		if opts.Title != nil && !opts.Title.MatchString(item.Title) {
			continue
		}
		sp, err := api.GetSpace(ctx, item.ID)
		if err != nil {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s (%q): %v", item.ID, item.Title, err))
			continue
		}
		members := sp.Members
		if members == nil {
			if members, err = api.SpaceMembers(ctx, sp.ID); err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s (%q): its members cannot be read: %v", sp.ID, sp.Title, err))
				continue
			}
		}
		if !isAdmin(members, me) {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s (%q): the service account is not one of its admins", sp.ID, sp.Title))
			continue
		}
		name := objectName(sp.Title, sp.ID, names)
		if err := writeDoc(&out, spaceObject(sp, name, opts)); err != nil {
			return nil, err
		}
		if opts.Members {
			if inv := inviteObject(name, members, me, opts); inv != nil {
				if err := writeDoc(&out, inv); err != nil {
					return nil, err
				}
			}
		}
		res.Spaces++
	}
	res.YAML = out.Bytes()
	return res, nil
}

func isAdmin(members []spaces.Member, me *spaces.User) bool {
	return slices.ContainsFunc(members, func(m spaces.Member) bool {
		return (m.Member == me.ID || (m.Username != "" && strings.EqualFold(m.Username, me.Username))) && m.Role == string(spacesv1alpha1.RoleAdmin)
	})
}

func spaceObject(sp *spaces.Space, name string, opts Options) *spacesv1alpha1.Space {
	obj := &spacesv1alpha1.Space{
		TypeMeta:   metav1.TypeMeta{APIVersion: spacesv1alpha1.GroupVersion.String(), Kind: "Space"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opts.Namespace},
		Spec: spacesv1alpha1.SpaceSpec{
			Title:          sp.Title,
			SpaceID:        sp.ID,
			DeletionPolicy: spacesv1alpha1.DeletionPolicyRetain,
			Settings: &spacesv1alpha1.SpaceSettings{
				MemberOnly:         ptr(deref(sp.Settings.MemberOnly)),
				AllowPasswordInURL: ptr(deref(sp.Settings.AllowPasswordInURL)),
				DenyGuestHistory:   ptr(slices.Contains(sp.Restrict, spaces.RestrictDenyGuestHistory)),
			},
		},
	}
	if sp.Description != "" {
		obj.Spec.Description = ptr(sp.Description)
	}
	if pr := sp.Settings.PasswordRequired; pr != nil {
		obj.Spec.Settings.GuestsRequirePassword = ptr(deref(pr.AllGuests))
	}
	if rt := sp.MsgRetention; rt != nil {
		obj.Spec.Settings.MessageRetention = &spacesv1alpha1.MessageRetention{Policy: spacesv1alpha1.RetentionForever}
		if rt.RetentionType == spaces.RetentionTypeDeleteAfterDays {
			obj.Spec.Settings.MessageRetention = &spacesv1alpha1.MessageRetention{Policy: spacesv1alpha1.RetentionDeleteAfterDays, Days: ptr(int32(rt.RetentionLength))}
		}
	}
	setRefs(&obj.Spec.AccountRef, &obj.Spec.CredentialsRef, opts)
	return obj
}

// inviteObject lists the members other than the service account, by email
// where Spaces shows one, each with their role; nil when there are none.
func inviteObject(name string, members []spaces.Member, me *spaces.User, opts Options) *spacesv1alpha1.SpaceInvite {
	inv := &spacesv1alpha1.SpaceInvite{
		TypeMeta:   metav1.TypeMeta{APIVersion: spacesv1alpha1.GroupVersion.String(), Kind: "SpaceInvite"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opts.Namespace},
		Spec:       spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: name}},
	}
	for _, m := range members {
		if m.Member == me.ID || strings.EqualFold(m.Username, me.Username) || m.MemberType == "anonymousId" {
			continue
		}
		role := spacesv1alpha1.MemberRole(m.Role)
		if role != spacesv1alpha1.RoleAdmin && role != spacesv1alpha1.RoleGuest {
			role = spacesv1alpha1.RoleMember
		}
		if m.Username != "" && strings.Contains(m.Username, "@") {
			inv.Spec.Invitees = append(inv.Spec.Invitees, spacesv1alpha1.Invitee{Email: m.Username, Role: role})
		} else {
			inv.Spec.Invitees = append(inv.Spec.Invitees, spacesv1alpha1.Invitee{UserID: m.Member, Role: role})
		}
	}
	if len(inv.Spec.Invitees) == 0 {
		return nil
	}
	return inv
}

func setRefs(account **spacesv1alpha1.AccountReference, creds **spacesv1alpha1.CredentialsReference, opts Options) {
	if opts.AccountRef != "" {
		*account = &spacesv1alpha1.AccountReference{Name: opts.AccountRef}
	}
	if opts.CredentialsRef != "" {
		*creds = &spacesv1alpha1.CredentialsReference{Name: opts.CredentialsRef}
	}
}

var notName = regexp.MustCompile(`[^a-z0-9]+`)

// objectName is a DNS-1123 name from the title, made unique with the end of
// the space id.
func objectName(title, id string, taken map[string]bool) string {
	base := strings.Trim(notName.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(base) > 40 {
		base = strings.Trim(base[:40], "-")
	}
	suffix := id
	if len(suffix) > 6 {
		suffix = suffix[len(suffix)-6:]
	}
	name := suffix
	if base != "" {
		name = base + "-" + suffix
	}
	for i := 2; taken[name] || len(validation.IsDNS1123Subdomain(name)) > 0; i++ {
		name = fmt.Sprintf("space-%s-%d", suffix, i)
	}
	taken[name] = true
	return name
}

// writeDoc appends obj as one YAML document, without status or the empty
// creationTimestamp.
func writeDoc(out *bytes.Buffer, obj any) error {
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	delete(doc, "status")
	if md, ok := doc["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	out.WriteString("---\n")
	out.Write(b)
	return nil
}

func ptr[T any](v T) *T { return &v }

func deref(b *bool) bool { return b != nil && *b }
