package controller

import (
	"fmt"
	"slices"
	"strings"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
)

// What a ClusterSpacesAccount lets its users do is checked before any call
// to Spaces. A key in the object's own namespace (credentialsRef) is the
// team's own service app: nothing is checked beyond its scopes.

// notAllowed is the stall of a spec its account does not permit: it names
// the account and the rule, and says what a human can do.
func notAllowed(p credentials.Policy, rule, what string) outcome {
	return stalled(spacesv1alpha1.ReasonNotAllowed, fmt.Sprintf(
		"ClusterSpacesAccount %q does not allow %s (%s); ask the platform team to allow it, or use spec.credentialsRef with the team's own key",
		p.Account, what, rule))
}

// inDomains reports whether email is in the policy's domains.
func inDomains(p credentials.Policy, email string) bool {
	if len(p.EmailDomains) == 0 {
		return true
	}
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(email[at+1:])
	return slices.ContainsFunc(p.EmailDomains, func(d string) bool { return strings.ToLower(d) == domain })
}

// createdHere reports whether id is the space the operator created for sp:
// not spec.spaceID, and its status (which only the operator writes) says
// so, or the recorded id carries the operator's proof (a crash came
// between recording the id and writing the status). A recorded id without
// either, as a forged annotation, counts as an adoption.
func createdHere(cred *credentials.Credential, sp *spacesv1alpha1.Space, id string) bool {
	switch {
	case id == "" || sp.Spec.SpaceID != "":
		return false
	case sp.Status.SpaceID == id:
		return true
	default:
		return cred != nil && sp.Annotations[spacesv1alpha1.AnnotationSpaceID] == id &&
			cred.Vouched(sp.UID, id, sp.Annotations[spacesv1alpha1.AnnotationSpaceIDProof])
	}
}

// checkSpace is what a Space may do under its policy: create (with an
// owner: act as them), or manage the space id (own: createdHere).
func checkSpace(p credentials.Policy, sp *spacesv1alpha1.Space, id string, own bool) (outcome, bool) {
	if p.Unrestricted() {
		return outcome{}, true
	}
	switch {
	case id == "" && !p.Allow.CreateSpaces:
		return notAllowed(p, "spec.allow.createSpaces", "creating spaces"), false
	case id == "" && sp.Spec.Owner != "" && !p.Allow.ActAs:
		return notAllowed(p, "spec.allow.actAs", "creating spaces on a user's behalf (spec.owner)"), false
	case id == "" && sp.Spec.Owner != "" && !inDomains(p, sp.Spec.Owner):
		return notAllowed(p, "spec.emailDomains", fmt.Sprintf("spec.owner %s, outside its email domains", sp.Spec.Owner)), false
	case id != "" && !own && !p.Allow.AdoptSpaces:
		return notAllowed(p, "spec.allow.adoptSpaces", fmt.Sprintf("managing space %s, which the operator did not create for this Space", id)), false
	}
	return outcome{}, true
}

// mayDeleteSpace says whether deletionPolicy Delete may delete the space:
// one the object created needs allow.deleteSpaces, an adopted one
// allow.adoptSpaces too. The reason is "" when it may.
func mayDeleteSpace(p credentials.Policy, own bool) string {
	switch {
	case p.Unrestricted():
		return ""
	case !p.Allow.DeleteSpaces:
		return fmt.Sprintf("ClusterSpacesAccount %q does not allow deleting spaces (spec.allow.deleteSpaces)", p.Account)
	case !own && !p.Allow.AdoptSpaces:
		return fmt.Sprintf("ClusterSpacesAccount %q does not allow deleting a space the operator did not create (spec.allow.adoptSpaces)", p.Account)
	}
	return ""
}

// checkInvitees is what a SpaceInvite may do under its policy: invite at
// all, and only people in the account's domains (by email: a userID's
// domain cannot be seen) unless it allows any.
func checkInvitees(p credentials.Policy, invitees []spacesv1alpha1.Invitee) (outcome, bool) {
	if p.Unrestricted() {
		return outcome{}, true
	}
	if !p.Allow.Invite {
		return notAllowed(p, "spec.allow.invite", "inviting"), false
	}
	if p.Allow.InviteOutsideDomains || len(p.EmailDomains) == 0 {
		return outcome{}, true
	}
	var outside []string
	for i, inv := range invitees {
		switch {
		case inv.Email != "" && !inDomains(p, inv.Email):
			outside = append(outside, fmt.Sprintf("spec.invitees[%d].email", i))
		case inv.Email == "":
			outside = append(outside, fmt.Sprintf("spec.invitees[%d].userID (name the invitee by email)", i))
		}
	}
	if len(outside) > 0 {
		return notAllowed(p, "spec.allow.inviteOutsideDomains", fmt.Sprintf("invitees outside %s: %s",
			strings.Join(p.EmailDomains, ", "), strings.Join(firstN(outside, 10), ", "))), false
	}
	return outcome{}, true
}

// checkUserSet is what a ServiceAccountUserSet may do under its policy:
// manage users at all, only in the account's domains, assigning only the
// licenses it allows.
func checkUserSet(p credentials.Policy, users []spacesv1alpha1.CompanyUser) (outcome, bool) {
	if p.Unrestricted() {
		return outcome{}, true
	}
	if !p.Allow.ManageUsers {
		return notAllowed(p, "spec.allow.manageUsers", "managing users"), false
	}
	var outside, licenses []string
	for i, u := range users {
		if !inDomains(p, u.Email) {
			outside = append(outside, fmt.Sprintf("spec.users[%d].email", i))
		}
		if u.License != "" && u.License != spacesv1alpha1.LicenseNone && !slices.Contains(p.Allow.Licenses, u.License) {
			licenses = append(licenses, fmt.Sprintf("spec.users[%d].license %s", i, u.License))
		}
	}
	if len(outside) > 0 {
		return notAllowed(p, "spec.emailDomains", fmt.Sprintf("users outside %s: %s",
			strings.Join(p.EmailDomains, ", "), strings.Join(firstN(outside, 10), ", "))), false
	}
	if len(licenses) > 0 {
		return notAllowed(p, "spec.allow.licenses", "assigning "+strings.Join(firstN(licenses, 10), ", ")), false
	}
	return outcome{}, true
}

// mayManageExistingUsers says whether a set may update (or delete) users
// it did not create.
func mayManageExistingUsers(p credentials.Policy) bool {
	return p.Unrestricted() || (p.Allow.ManageUsers && p.Allow.ManageExistingUsers)
}

// firstN keeps a message bounded: the first n items, and how many more.
func firstN(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(slices.Clone(items[:n]), fmt.Sprintf("and %d more", len(items)-n))
}
