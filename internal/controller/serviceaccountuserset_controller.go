package controller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// usersAPI is what the ServiceAccountUserSet controller needs of Spaces.
type usersAPI interface {
	ColleaguesBulk(ctx context.Context, emails []string) ([]spaces.User, error)
	BulkUpdateAccounts(ctx context.Context, ops []spaces.BulkOperation) ([]spaces.BulkResult, error)
	RequestTimeout() time.Duration
}

var _ usersAPI = (*spaces.Client)(nil)

// ServiceAccountUserSetReconciler keeps a set of company users in step.
type ServiceAccountUserSetReconciler struct {
	// Reconciler's APIReader reads the set (its status records what was
	// applied; a stale copy would resend it) and the password Secret.
	Reconciler
	Now func() time.Time

	// fullReads holds, by UID, when this process last read all of a set's
	// users: in between, a reconcile reads only the users whose spec or
	// state asks for it.
	fullReads sync.Map
}

// SetupWithManager registers the controller. A set's change also wakes the
// sets sharing an email with it, so a newer set takes a user over once the
// older one lets go.
func (r *ServiceAccountUserSetReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.setDefaults()
	if r.Now == nil {
		r.Now = time.Now
	}
	sharers := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		set := o.(*spacesv1alpha1.ServiceAccountUserSet)
		seen := map[client.ObjectKey]bool{}
		var reqs []reconcile.Request
		for _, u := range set.Spec.Users {
			var list spacesv1alpha1.ServiceAccountUserSetList
			if err := mgr.GetClient().List(ctx, &list, client.MatchingFields{indexUserEmail: u.Email}); err != nil {
				continue
			}
			for _, other := range list.Items {
				key := client.ObjectKeyFromObject(&other)
				if key != client.ObjectKeyFromObject(set) && !seen[key] {
					seen[key] = true
					reqs = append(reqs, reconcile.Request{NamespacedName: key})
				}
			}
		}
		return reqs
	})
	b := ctrl.NewControllerManagedBy(mgr).
		For(&spacesv1alpha1.ServiceAccountUserSet{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, deletionPredicate(), annotationChanged(spacesv1alpha1.AnnotationAbandon)))).
		Watches(&spacesv1alpha1.ServiceAccountUserSet{}, sharers, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, deletionPredicate())))
	return watchCredentialSources(b, mgr.GetClient(), &spacesv1alpha1.ServiceAccountUserSetList{}).
		WithOptions(r.options(unchangedLooks[spacesv1alpha1.ServiceAccountUserSet](&r.Reconciler, nil))).
		Named("serviceaccountuserset").
		Complete(r)
}

type userSetScope struct {
	set    *spacesv1alpha1.ServiceAccountUserSet
	status spacesv1alpha1.ServiceAccountUserSetStatus
	api    usersAPI
	cred   *credentials.Credential
	policy credentials.Policy
	// specIdx maps lower-case emails to their index in spec.users.
	specIdx map[string]int
}

// Reconcile: get → deleted → finalizer → suspended → credentials → read
// users → plan → passwords → bulk writes → status.
func (r *ServiceAccountUserSetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	set := &spacesv1alpha1.ServiceAccountUserSet{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, set); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &userSetScope{set: set, status: *set.Status.DeepCopy(), specIdx: specIndex(set)}
	var o outcome
	if !set.DeletionTimestamp.IsZero() {
		r.forgetDrift(set)
		r.fullReads.Delete(set.UID)
		if !controllerutil.ContainsFinalizer(set, spacesv1alpha1.Finalizer) {
			return ctrl.Result{}, nil
		}
		if done, err := r.abandoned(ctx, set); done || err != nil {
			return ctrl.Result{}, err
		}
		if o = r.reconcileDelete(ctx, s); o.phase == 0 {
			return ctrl.Result{}, releaseFinalizer(ctx, r.Client, set)
		}
	} else {
		o = r.reconcileLive(ctx, s)
	}
	return finish(ctx, &r.Reconciler, s.set, &s.set.Status, &s.status, o)
}

func (r *ServiceAccountUserSetReconciler) reconcileLive(ctx context.Context, s *userSetScope) outcome {
	if err := ensureFinalizer(ctx, r.Client, s.set); err != nil {
		return failed(err, false)
	}
	if s.set.Spec.Suspend {
		return suspended()
	}
	if o, ok := r.resolve(ctx, s); !ok {
		return o
	}
	if o, ok := checkUserSet(s.policy, s.set.Spec.Users); !ok {
		return o
	}
	conflicts, err := r.conflicts(ctx, s.set)
	if err != nil {
		return failed(err, false)
	}
	// Every user is read once a resync period (the set's drift check);
	// in between, only the users whose spec changed or who are not yet
	// settled: the others are taken as their status last saw them.
	previous := previousUsers(s.status.Users)
	lastFull, _ := r.fullReads.Load(s.set.UID)
	full := lastFull == nil || r.Now().Sub(lastFull.(time.Time)) >= r.ResyncPeriod*9/10
	if full {
		if o, ok := r.driftTurn(ctx, s.set, s.cred, (len(s.set.Spec.Users)+49)/50); !ok {
			return o
		}
	}
	emails, assumed := usersToRead(s.set, previous, conflicts, full)
	readAt := r.Now()
	existing, err := r.existing(ctx, s.api, emails)
	if err != nil {
		return failed(err, false)
	}
	if full {
		r.fullReads.Store(s.set.UID, readAt)
	}
	for email, u := range assumed {
		existing[email] = u
	}
	plan := planUsers(s.set, existing, previous, conflicts, mayManageExistingUsers(s.policy), r.Now())
	return r.apply(ctx, s, plan)
}

// usersToRead splits a set's users into the emails to read from Spaces
// and the users taken as their status last saw them (assumed, by
// lower-case email): on a full read, every user not managed by an older
// set (conflicts); otherwise only those not settled. Users dropped from
// the spec are always read, for their deletion.
func usersToRead(set *spacesv1alpha1.ServiceAccountUserSet, previous map[string]spacesv1alpha1.UserStatus, conflicts map[string]string, full bool) ([]string, map[string]spaces.User) {
	var emails []string
	assumed := map[string]spaces.User{}
	listed := map[string]bool{}
	for _, u := range set.Spec.Users {
		email := strings.ToLower(u.Email)
		listed[email] = true
		if _, taken := conflicts[email]; taken {
			continue
		}
		if prev, ok := previous[email]; ok && !full && settledUser(prev, u) {
			assumed[email] = spaces.User{ID: prev.UserID}
			continue
		}
		emails = append(emails, u.Email)
	}
	for _, u := range set.Status.Users {
		if !listed[strings.ToLower(u.Email)] {
			emails = append(emails, u.Email)
		}
	}
	return emails, assumed
}

// settledUser reports whether a user's status shows the spec applied and
// nothing pending: such a user need not be read outside the drift check.
func settledUser(prev spacesv1alpha1.UserStatus, u spacesv1alpha1.CompanyUser) bool {
	return (prev.State == spacesv1alpha1.UserInSync || prev.State == spacesv1alpha1.UserCreated) &&
		prev.UserID != "" && prev.CreatingUntil == nil && prev.SpecHash == userHash(u)
}

func (r *ServiceAccountUserSetReconciler) resolve(ctx context.Context, s *userSetScope) (outcome, bool) {
	src, _ := sourceOf(s.set)
	cred, policy, err := r.Credentials.Resolve(ctx, s.set.Namespace, src)
	if err != nil {
		return failed(err, false), false
	}
	s.api, s.cred, s.policy = cred.Client, cred, policy
	return outcome{}, true
}

// existing reads which users exist, 50 emails a call.
func (r *ServiceAccountUserSetReconciler) existing(ctx context.Context, api usersAPI, emails []string) (map[string]spaces.User, error) {
	if len(emails) == 0 {
		return map[string]spaces.User{}, nil
	}
	users, err := api.ColleaguesBulk(ctx, emails)
	if err != nil {
		return nil, err
	}
	return spaces.UsersByEmail(users), nil
}

// conflicts maps each email of the set that an older set also names to that
// set. Older: created first; ties broken by namespace/name.
func (r *ServiceAccountUserSetReconciler) conflicts(ctx context.Context, set *spacesv1alpha1.ServiceAccountUserSet) (map[string]string, error) {
	out := map[string]string{}
	for _, u := range set.Spec.Users {
		var list spacesv1alpha1.ServiceAccountUserSetList
		if err := r.List(ctx, &list, client.MatchingFields{indexUserEmail: u.Email}); err != nil {
			return nil, err
		}
		for _, other := range list.Items {
			if other.UID != set.UID && olderThan(&other, set) {
				out[strings.ToLower(u.Email)] = other.Namespace + "/" + other.Name
			}
		}
	}
	return out, nil
}

func olderThan(a, b *spacesv1alpha1.ServiceAccountUserSet) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

// apply stores passwords for new users, sends the operations, and records
// each outcome per user.
func (r *ServiceAccountUserSetReconciler) apply(ctx context.Context, s *userSetScope, plan userPlan) outcome {
	if err := r.setPasswords(ctx, s, plan.ops); err != nil {
		var foreign *foreignSecretError
		if errors.As(err, &foreign) {
			return stalled(spacesv1alpha1.ReasonSecretConflict, foreign.Error())
		}
		return failed(err, false)
	}
	if err := r.markCreates(ctx, s, &plan); err != nil {
		return failed(err, false)
	}
	users := append([]spacesv1alpha1.UserStatus(nil), plan.settled...)
	var created, updated, deleted, retry int
	if len(plan.ops) > 0 {
		ctrl.LoggerFrom(ctx).Info("Sending account operations", "serviceAccountUserSet", klog.KObj(s.set), "operations", len(plan.ops))
		// Nothing is sent after the window markCreates announced, so no
		// create lands after creatingUntil.
		sendCtx := spaces.WithSendDeadline(ctx, plan.sentAt.Add(sendWindow(s.api.RequestTimeout())))
		results, err := s.api.BulkUpdateAccounts(sendCtx, plan.ops)
		for i, op := range plan.ops {
			st := plan.opUsers[i]
			switch {
			// An uncertain or transient create keeps createdBySet, which
			// markCreates set: a create that did happen is this set's.
			case i >= len(results):
				if op.Action != spaces.BulkActionDelete {
					st.State, st.Message = spacesv1alpha1.UserPending, "not sent yet"
				}
				// Calls go in chunks: past the failed one, nothing was sent.
				if i >= len(results)+spaces.MaxBulkOperations || spaces.DefinitelyNotDone(err) {
					st.CreatingUntil = nil // never sent: nothing can land
				}
				users = append(users, st) // a delete is kept, to be tried later
				continue
			case !results[i].Succeeded() && transientResult(results[i]):
				// Spaces could not do it this time: it is tried again, with
				// backoff, not reported as the user's fault.
				st.State, st.Message, st.CreatingUntil = spacesv1alpha1.UserPending, bulkMessage(results[i])+"; tried again", nil
				users = append(users, st)
				retry++
				continue
			case !results[i].Succeeded():
				st.State, st.Message, st.CreatingUntil = spacesv1alpha1.UserFailed, bulkMessage(results[i]), nil
				if op.Action == spaces.BulkActionCreate {
					st.CreatedBySet = false // Spaces refused it: not this set's
				}
				users = append(users, st)
				continue
			}
			st.CreatingUntil = nil
			switch op.Action {
			case spaces.BulkActionCreate:
				st.State, st.CreatedBySet, st.Message = spacesv1alpha1.UserCreated, true, ""
				created++
			case spaces.BulkActionUpdate:
				st.State, st.Message = spacesv1alpha1.UserInSync, ""
				if st.CreatedBySet {
					st.State = spacesv1alpha1.UserCreated
				}
				updated++
			case spaces.BulkActionDelete:
				deleted++
				continue // gone from status
			}
			if u := results[i].User; u != nil && u.ID != "" {
				st.UserID = u.ID
			}
			st.Message = results[i].Note
			st.SpecHash = userHash(s.set.Spec.Users[s.specIdx[strings.ToLower(st.Email)]])
			users = append(users, st)
		}
		if err != nil {
			s.status.Users = orderUsers(s.specIdx, users)
			return failed(err, false)
		}
	}
	if created+updated+deleted > 0 {
		r.event(s.set, corev1.EventTypeNormal, spacesv1alpha1.ReasonUpdated, "Created %d, updated %d and deleted %d users", created, updated, deleted)
	}
	s.status.Users = orderUsers(s.specIdx, users)
	o := r.summarise(s)
	if !plan.settlesAt.IsZero() {
		o = progressing(spacesv1alpha1.ReasonProgressing, fmt.Sprintf(
			"a create was interrupted and may still land in Spaces; at %s the users it did not create are created", plan.settlesAt.UTC().Format(time.RFC3339)))
		o.retryAfter = plan.settlesAt.Sub(r.Now()) + time.Second
	}
	if retry > 0 {
		o = progressing(spacesv1alpha1.ReasonSpacesUnavailable, fmt.Sprintf("Spaces could not handle %d users this time; retrying with backoff", retry))
		o.err = errors.New(o.message)
	}
	return o
}

// markCreates records, before the creates are sent, that the users about
// to be created are this set's: after a crash or a lost answer, a user that
// exists then was made by this set (its password is already in the set's
// Secret), so deletionPolicy Delete still removes it. plan's users carry
// the mark on.
func (r *ServiceAccountUserSetReconciler) markCreates(ctx context.Context, s *userSetScope, plan *userPlan) error {
	marked := false
	users := append([]spacesv1alpha1.UserStatus(nil), plan.settled...)
	plan.sentAt = r.Now()
	until := metav1.NewTime(plan.sentAt.Add(settleTime(s.api.RequestTimeout())))
	for i, op := range plan.ops {
		st := plan.opUsers[i]
		if op.Action == spaces.BulkActionCreate {
			st.CreatedBySet, st.State, st.Message, st.CreatingUntil, marked = true, spacesv1alpha1.UserPending, "being created", &until, true
			plan.opUsers[i] = st
		}
		users = append(users, st)
	}
	if !marked {
		return nil
	}
	s.status.Users = orderUsers(s.specIdx, users)
	return writeStatus(ctx, &r.Reconciler, s.set, &s.set.Status, &s.status,
		progressing(spacesv1alpha1.ReasonProgressing, "Creating users in Spaces"))
}

// transientResult says whether one operation's failure is Spaces' passing
// trouble (5xx, 429) rather than the user's input.
func transientResult(r spaces.BulkResult) bool {
	return r.Error != nil && (r.Error.Code >= 500 || r.Error.Code == http.StatusTooManyRequests)
}

// summarise counts users and words the outcome.
func (r *ServiceAccountUserSetReconciler) summarise(s *userSetScope) outcome {
	s.status.Total, s.status.Ready = int32(len(s.set.Spec.Users)), 0
	var failedUsers, conflicted []string
	for _, u := range s.status.Users {
		switch u.State {
		case spacesv1alpha1.UserCreated, spacesv1alpha1.UserInSync:
			s.status.Ready++
		case spacesv1alpha1.UserFailed:
			failedUsers = append(failedUsers, u.Email+": "+u.Message)
		case spacesv1alpha1.UserConflict:
			conflicted = append(conflicted, u.Email+" ("+u.Message+")")
		}
	}
	switch {
	case len(failedUsers) > 0:
		return stalledButResync(spacesv1alpha1.ReasonInvalidInput, fmt.Sprintf("%d users failed (each says why in status.users): %s; correct spec.users", len(failedUsers), strings.Join(firstN(failedUsers, 3), "; ")))
	case len(conflicted) > 0:
		return stalledButResync(spacesv1alpha1.ReasonConflict, fmt.Sprintf("%d users are managed by an older ServiceAccountUserSet and left alone: %s; remove them from one of the sets", len(conflicted), strings.Join(firstN(conflicted, 5), ", ")))
	}
	return synced(fmt.Sprintf("%d of %d users match the spec", s.status.Ready, s.status.Total))
}

// setPasswords makes sure every user about to be created has a password in
// the set's password Secret before the create is sent, so a crash cannot
// lose one; a password already there (from an interrupted attempt) is
// reused. Passwords go into the operations and nowhere else.
func (r *ServiceAccountUserSetReconciler) setPasswords(ctx context.Context, s *userSetScope, ops []spaces.BulkOperation) error {
	var creates []int
	for i, op := range ops {
		if op.Action == spaces.BulkActionCreate {
			creates = append(creates, i)
		}
	}
	if len(creates) == 0 {
		return nil
	}
	secret, err := r.ownedSecret(ctx, s.set, passwordSecretName(s.set), "spec.passwordSecretName")
	if err != nil {
		return err
	}
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	changed := false
	for _, i := range creates {
		key := passwordKey(ops[i].Email)
		pw := string(secret.Data[key])
		if pw == "" {
			var err error
			if pw, err = newPassword(); err != nil {
				return err
			}
			secret.Data[key] = []byte(pw)
			changed = true
		}
		ops[i].Password = spaces.Password(pw)
	}
	if !changed {
		return nil
	}
	return r.saveSecret(ctx, secret)
}

// reconcileDelete deletes, under deletionPolicy Delete, the users this set
// created; a zero outcome means done.
func (r *ServiceAccountUserSetReconciler) reconcileDelete(ctx context.Context, s *userSetScope) outcome {
	if s.set.Spec.DeletionPolicy != spacesv1alpha1.DeletionPolicyDelete {
		return outcome{}
	}
	var created []spacesv1alpha1.UserStatus
	var emails []string
	for _, u := range s.status.Users {
		if u.CreatedBySet {
			created, emails = append(created, u), append(emails, u.Email)
		}
	}
	if len(created) == 0 {
		return outcome{}
	}
	if o, ok := r.resolve(ctx, s); !ok {
		if o.reason == spacesv1alpha1.ReasonNotAllowed {
			r.event(s.set, corev1.EventTypeWarning, spacesv1alpha1.ReasonNotAllowed, "Deleted without deleting its users: %s", o.message)
			return outcome{}
		}
		o.message = "cannot delete the users this set created (deletionPolicy Delete): " + o.message
		return o
	}
	existing, err := r.existing(ctx, s.api, emails)
	if err != nil {
		return failed(err, false)
	}
	// A user is deleted by the id this set created it with: an address
	// deleted and created again in Spaces is someone else now.
	var ops []spaces.BulkOperation
	for _, u := range created {
		if found, ok := existing[strings.ToLower(u.Email)]; ok && found.ID == u.UserID {
			ops = append(ops, spaces.BulkOperation{Action: spaces.BulkActionDelete, Email: u.Email})
		}
	}
	if len(ops) == 0 {
		return outcome{}
	}
	results, err := s.api.BulkUpdateAccounts(ctx, ops)
	var remaining []spacesv1alpha1.UserStatus
	for i, op := range ops {
		if i < len(results) && (results[i].Succeeded() || (results[i].Error != nil && results[i].Error.Code == 404)) {
			continue
		}
		st := spacesv1alpha1.UserStatus{Email: op.Email, CreatedBySet: true, State: spacesv1alpha1.UserFailed, Message: "not deleted yet"}
		if i < len(results) {
			st.Message = bulkMessage(results[i])
		}
		remaining = append(remaining, st)
	}
	if err != nil {
		s.status.Users = remaining
		return failed(err, false)
	}
	r.event(s.set, corev1.EventTypeNormal, spacesv1alpha1.ReasonDeleted, "Deleted %d users this set created", len(ops)-len(remaining))
	if len(remaining) > 0 {
		s.status.Users = remaining
		return stalled(spacesv1alpha1.ReasonInvalidInput, fmt.Sprintf("%d users could not be deleted", len(remaining)))
	}
	return outcome{}
}

func passwordSecretName(set *spacesv1alpha1.ServiceAccountUserSet) string {
	if set.Spec.PasswordSecretName != "" {
		return set.Spec.PasswordSecretName
	}
	return set.Name + "-passwords"
}

func bulkMessage(r spaces.BulkResult) string {
	if r.Error != nil {
		return fmt.Sprintf("%s (%d)", r.Error.Message, r.Error.Code)
	}
	return "failed: " + r.Status
}

func previousUsers(users []spacesv1alpha1.UserStatus) map[string]spacesv1alpha1.UserStatus {
	out := make(map[string]spacesv1alpha1.UserStatus, len(users))
	for _, u := range users {
		out[strings.ToLower(u.Email)] = u
	}
	return out
}

func specIndex(set *spacesv1alpha1.ServiceAccountUserSet) map[string]int {
	idx := make(map[string]int, len(set.Spec.Users))
	for i, u := range set.Spec.Users {
		idx[strings.ToLower(u.Email)] = i
	}
	return idx
}

// orderUsers puts status entries in spec order, then any others (users
// awaiting deletion) by email.
func orderUsers(idx map[string]int, users []spacesv1alpha1.UserStatus) []spacesv1alpha1.UserStatus {
	rank := func(u spacesv1alpha1.UserStatus) int {
		if i, ok := idx[strings.ToLower(u.Email)]; ok {
			return i
		}
		return len(idx)
	}
	sort.SliceStable(users, func(i, j int) bool {
		ri, rj := rank(users[i]), rank(users[j])
		if ri != rj {
			return ri < rj
		}
		return users[i].Email < users[j].Email
	})
	return users
}
