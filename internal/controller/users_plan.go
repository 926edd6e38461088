package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// userPlan is what one reconcile of a ServiceAccountUserSet does: one
// operation per user that needs one, and the status of those that do not.
type userPlan struct {
	// ops are the bulk operations to send; opUsers[i] is the status entry
	// ops[i] will update.
	ops     []spaces.BulkOperation
	opUsers []spacesv1alpha1.UserStatus
	// settled are users needing nothing (InSync, Created, Conflict), or
	// waiting for a create that may still land.
	settled []spacesv1alpha1.UserStatus
	// settlesAt is the latest moment a create sent earlier can still land
	// (zero: none is out).
	settlesAt time.Time
	// sentAt is when this plan's creates were announced (markCreates).
	sentAt time.Time
}

// planUsers compares the spec with what Spaces has (existing, by lower-case
// email) and what this set did before (previous status). conflicts names
// emails an older set manages. Only fields set in the spec are sent. A user
// the set did not create (matched by the user id it created them with) is
// updated only when manageExisting; deleted never.
func planUsers(set *spacesv1alpha1.ServiceAccountUserSet, existing map[string]spaces.User, previous map[string]spacesv1alpha1.UserStatus, conflicts map[string]string, manageExisting bool, now time.Time) userPlan {
	var p userPlan
	for _, u := range set.Spec.Users {
		email := strings.ToLower(u.Email)
		prev := previous[email]
		delete(previous, email)
		st := spacesv1alpha1.UserStatus{Email: u.Email, UserID: prev.UserID, CreatedBySet: prev.CreatedBySet, SpecHash: prev.SpecHash, CreatingUntil: prev.CreatingUntil}
		if owner, ok := conflicts[email]; ok {
			st.State, st.Message, st.CreatedBySet, st.SpecHash = spacesv1alpha1.UserConflict, "managed by the older ServiceAccountUserSet "+owner, false, ""
			p.settled = append(p.settled, st)
			continue
		}
		hash := userHash(u)
		found, exists := existing[email]
		if exists {
			st.CreatingUntil = nil // the create landed, or someone else's did
		}
		if exists && st.CreatedBySet && st.UserID != "" && st.UserID != found.ID {
			st.CreatedBySet, st.SpecHash = false, "" // re-created in Spaces by someone else
		}
		switch {
		case exists && !st.CreatedBySet && !manageExisting:
			st.UserID, st.State = found.ID, spacesv1alpha1.UserFailed
			st.Message = "this user existed before the set; its account does not allow changing users it did not create (spec.allow.manageExistingUsers)"
			p.settled = append(p.settled, st)
		case !exists && st.CreatingUntil != nil && now.Before(st.CreatingUntil.Time):
			// A create sent earlier may still land: creating again now
			// could make it twice (the second refused as a duplicate).
			st.State, st.Message = spacesv1alpha1.UserPending, "being created; a create sent earlier may still land in Spaces"
			if st.CreatingUntil.After(p.settlesAt) {
				p.settlesAt = st.CreatingUntil.Time
			}
			p.settled = append(p.settled, st)
		case !exists:
			st.CreatingUntil = nil // none out any more: it never landed
			op := accountOp(spaces.BulkActionCreate, u)
			p.ops, p.opUsers = append(p.ops, op), append(p.opUsers, st)
		case prev.SpecHash != hash:
			st.UserID = found.ID
			p.ops, p.opUsers = append(p.ops, accountOp(spaces.BulkActionUpdate, u)), append(p.opUsers, st)
		default:
			st.UserID = found.ID
			st.State = spacesv1alpha1.UserInSync
			if st.CreatedBySet {
				st.State = spacesv1alpha1.UserCreated
			}
			p.settled = append(p.settled, st)
		}
	}
	// Users dropped from the spec: deleted only under deletionPolicy Delete,
	// and only if this set created them.
	for email, prev := range previous {
		if set.Spec.DeletionPolicy == spacesv1alpha1.DeletionPolicyDelete && prev.CreatedBySet {
			if found, exists := existing[email]; exists && found.ID == prev.UserID {
				p.ops = append(p.ops, spaces.BulkOperation{Action: spaces.BulkActionDelete, Email: prev.Email})
				p.opUsers = append(p.opUsers, prev)
			}
		}
	}
	return p
}

// accountOp is the operation for a user; only fields set in the spec go.
func accountOp(action string, u spacesv1alpha1.CompanyUser) spaces.BulkOperation {
	op := spaces.BulkOperation{Action: action, Email: u.Email, Firstname: u.FirstName, Lastname: u.LastName,
		Language: u.Language, Workphone: u.WorkPhone, Cellphone: u.CellPhone}
	switch u.License {
	case spacesv1alpha1.LicensePower:
		op.LicenseType = ptrTo(spaces.LicenseTypePower)
	case spacesv1alpha1.LicenseBusiness:
		op.LicenseType = ptrTo(spaces.LicenseTypeBusiness)
	case spacesv1alpha1.LicenseNone:
		op.LicenseType = ptrTo("")
	}
	return op
}

// userHash identifies the managed fields of a user's spec.
func userHash(u spacesv1alpha1.CompanyUser) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%q|%q|%q|%q|%q|%q|%q", strings.ToLower(u.Email), u.FirstName, u.LastName, u.Language, u.WorkPhone, u.CellPhone, u.License)))
	return hex.EncodeToString(sum[:8])
}

func ptrTo[T any](v T) *T { return &v }
