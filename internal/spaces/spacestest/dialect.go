package spacestest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Switches of a Dialect: each answers one point spaces-api.md marks
// INFERRED (or UNKNOWN) the other way from the fake's default. The default
// (no switch) is the fake's best guess; a client that works under every
// switch, alone and together, does not depend on the guess.
const (
	// DialectSettingsNested: restrict and msgRetention under settings.
	DialectSettingsNested = "settings-nested"
	// DialectSettingsReplace: a settings write replaces settings whole.
	DialectSettingsReplace = "settings-replace"
	// DialectMembersLinks: member pages carry next/previous links, always.
	DialectMembersLinks = "members-links"
	// DialectMembersSmallPages: member pages hold at most 20.
	DialectMembersSmallPages = "members-small-pages"
	// DialectBulkAnswerBare: bulk results as a bare array with success flags.
	DialectBulkAnswerBare = "bulk-answer-bare"
	// DialectBulkAnswerOpaque: bulk answers with no per-operation results.
	DialectBulkAnswerOpaque = "bulk-answer-opaque"
	// DialectEmailInvitePending: an email invitation never makes a member.
	DialectEmailInvitePending = "email-invite-pending"
	// DialectMembersRefused: member and attendee routes refuse service apps.
	DialectMembersRefused = "members-refused"
	// DialectSpaceWithoutMembers: a space's answer lists no members.
	DialectSpaceWithoutMembers = "space-without-members"
	// DialectUseridLowercase: only the documented "userid" spelling.
	DialectUseridLowercase = "userid-lowercase"
	// DialectGuestAttendeeRefused: the attendee route takes admin or member.
	DialectGuestAttendeeRefused = "guest-attendee-refused"
	// DialectIDNotUnderscore: objects carry "id", not "_id".
	DialectIDNotUnderscore = "id-not-underscore"
	// DialectPhoneNumbersObject: phone_numbers is an object, not a list.
	DialectPhoneNumbersObject = "phone-numbers-object"
	// DialectErrorNested: errors as {"error":{"code","message"}}, no scope.
	DialectErrorNested = "error-nested"
	// DialectAuth403: a refused token is a 403, not a 401.
	DialectAuth403 = "auth-403"
	// DialectActAsNotAdmin: an act-as create ignores its invitees.
	DialectActAsNotAdmin = "actas-not-admin"
	// DialectSearchIgnored: the space listing ignores search.
	DialectSearchIgnored = "search-ignored"
	// DialectInviteAnswerObject: invite answers hold data as one object.
	DialectInviteAnswerObject = "invite-answer-object"
)

// DialectSwitch is one switch and what it changes.
type DialectSwitch struct{ Name, Effect string }

// DialectSwitches lists every switch with what it changes, in the order
// `spaces-fake --dialect list` prints them.
var DialectSwitches = []DialectSwitch{
	{DialectSettingsNested, "spaces carry restrict and msgRetention under settings, not at the top (a public sample reads them there); writes take either place"},
	{DialectSettingsReplace, "POST /spaces/{id} with settings replaces the whole settings object: settings it leaves out go back to their defaults"},
	{DialectMembersLinks, "GET /spaces/{id}/members sends nextPageUrl/previousPageUrl, and a next link even on the last page"},
	{DialectMembersSmallPages, "GET /spaces/{id}/members pages hold at most 20 members, whatever size asks (total still counts them all)"},
	{DialectBulkAnswerBare, "POST /users/bulkupdateaccounts answers a bare array of {email, action, success, message}, no status"},
	{DialectBulkAnswerOpaque, "POST /users/bulkupdateaccounts does the work and answers {\"message\":\"accepted\"}, no per-operation results"},
	{DialectEmailInvitePending, "an email invitation stays pending even for someone with a Spaces account (never membership at once)"},
	{DialectMembersRefused, "GET /spaces/{id}/members and the attendee routes answer 403 to service apps, naming no scope"},
	{DialectSpaceWithoutMembers, "GET and POST /spaces/{id} answer the space without its members list"},
	{DialectUseridLowercase, "inviteeType and the attendee route take only the documented spelling userid (userId is a 400); members say memberType userid"},
	{DialectGuestAttendeeRefused, "POST /spaces/{id}/attendees takes role admin or member only, as documented (guest is a 400)"},
	{DialectIDNotUnderscore, "every object carries its id as \"id\", never \"_id\""},
	{DialectPhoneNumbersObject, "phone_numbers is an object of numbers by type, not a list"},
	{DialectErrorNested, "error bodies are {\"error\":{\"code\",\"message\"}}, and a 403 never names the missing scope"},
	{DialectAuth403, "a refused token (expired, unknown key, bad signature) is answered 403, not 401"},
	{DialectActAsNotAdmin, "a space created with X-Avaya-Act-As ignores the call's invitees: the service account is no member, cannot read, change or list it"},
	{DialectSearchIgnored, "GET /users/me/spaces ignores search and lists every space"},
	{DialectInviteAnswerObject, "both invite routes answer data as one invite object, not a list"},
}

// Dialect is a set of switches; the zero value is the fake's default.
type Dialect map[string]bool

// ParseDialect reads a comma-separated list of switch names, or "all".
func ParseDialect(s string) (Dialect, error) {
	d := Dialect{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case name == "all":
			for _, sw := range DialectSwitches {
				d[sw.Name] = true
			}
		case slices.ContainsFunc(DialectSwitches, func(sw DialectSwitch) bool { return sw.Name == name }):
			d[name] = true
		default:
			return nil, fmt.Errorf("unknown dialect switch %q (known: all, %s)", name, strings.Join(DialectNames(), ", "))
		}
	}
	return d, nil
}

// DialectNames are the names of every switch.
func DialectNames() []string {
	names := make([]string, 0, len(DialectSwitches))
	for _, sw := range DialectSwitches {
		names = append(names, sw.Name)
	}
	return names
}

// AllDialect is the dialect with every switch on.
func AllDialect() Dialect {
	d, _ := ParseDialect("all")
	return d
}

func (d Dialect) String() string {
	if len(d) == 0 {
		return "default"
	}
	var on []string
	for name, v := range d {
		if v {
			on = append(on, name)
		}
	}
	sort.Strings(on)
	return strings.Join(on, ",")
}

// SetDialect switches the fake to dialect d from the next request on.
func (s *Server) SetDialect(d Dialect) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Dialect = d
}

// is reports whether switch name is on; the caller holds s.mu.
func (s *Server) is(name string) bool { return s.opts.Dialect[name] }
