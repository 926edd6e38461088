package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1 "k8s.io/api/core/v1"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
)

// ClusterSpacesAccountReconciler reports whether an account's key works:
// Ready when it parses and Spaces answers GET /users/me with it, checked at
// every change of the account or its Secret and at every resync.
type ClusterSpacesAccountReconciler struct {
	Reconciler
}

// SetupWithManager registers the controller.
func (r *ClusterSpacesAccountReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.setDefaults()
	c := mgr.GetClient()
	accountsOf := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, secret client.Object) []reconcile.Request {
		names, err := accountsOfSecret(ctx, c, types.NamespacedName{Namespace: secret.GetNamespace(), Name: secret.GetName()})
		if err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(names))
		for _, n := range names {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: n}})
		}
		return reqs
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&spacesv1alpha1.ClusterSpacesAccount{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.Secret{}, accountsOf, builder.WithPredicates(credentialsChanged())).
		WithOptions(r.options(nil)).
		Named("clusterspacesaccount").
		Complete(r)
}

// Reconcile checks one account's key.
func (r *ClusterSpacesAccountReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	account := &spacesv1alpha1.ClusterSpacesAccount{}
	if err := r.Get(ctx, req.NamespacedName, account); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	next := *account.Status.DeepCopy()
	users, err := r.users(ctx, account.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	next.Users = users
	return finish(ctx, &r.Reconciler, account, &account.Status, &next, r.check(ctx, account, &next))
}

func (r *ClusterSpacesAccountReconciler) check(ctx context.Context, account *spacesv1alpha1.ClusterSpacesAccount, next *spacesv1alpha1.ClusterSpacesAccountStatus) outcome {
	cred, err := r.Credentials.Account(ctx, account)
	if err != nil {
		return failed(err, false)
	}
	next.Subject, next.KeyID = cred.Subject, cred.KeyID
	me, err := cred.Client.Me(ctx)
	if err != nil {
		return failed(err, false)
	}
	return synced(fmt.Sprintf("The key works: Spaces knows it as %s", orDefault(me.Username, cred.Subject)))
}

// users counts the objects using the account.
func (r *ClusterSpacesAccountReconciler) users(ctx context.Context, name string) (int32, error) {
	var n int32
	for _, list := range credentialUsers() {
		if err := r.List(ctx, list, client.MatchingFields{indexCredentialsSource: credentials.AccountSourceKey(name)}); err != nil {
			return 0, err
		}
		n += int32(meta.LenList(list))
	}
	return n, nil
}
