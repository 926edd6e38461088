package controller

import (
	"context"
	"reflect"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	corev1 "k8s.io/api/core/v1"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
)

// CredentialsReconciler keeps the in-use finalizer on every credentials
// Secret some object uses, and only on those: a namespace teardown then
// deletes the Secret after the objects whose deletion needs it.
type CredentialsReconciler struct {
	client.Client
	Credentials *credentials.Resolver
}

// SetupWithManager registers the controller. Secrets are watched
// metadata-only: their data never sits in the cache.
func (r *CredentialsReconciler) SetupWithManager(mgr ctrl.Manager) error {
	c := mgr.GetClient()
	toSecret := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		src, uses := sourceOf(o)
		if !uses {
			return nil
		}
		if src.CredentialsRef != nil {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: src.CredentialsRef.Name}}}
		}
		name := r.Credentials.AccountOf(src)
		if name == "" {
			return nil
		}
		var account spacesv1alpha1.ClusterSpacesAccount
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &account); err != nil {
			return nil
		}
		return []reconcile.Request{{NamespacedName: credentials.AccountSecret(&account)}}
	})
	// An account that changes its Secret lets go of the old one: every
	// Secret still holding the finalizer is looked at again.
	toAccountSecrets := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		reqs := []reconcile.Request{{NamespacedName: credentials.AccountSecret(o.(*spacesv1alpha1.ClusterSpacesAccount))}}
		var secrets metav1.PartialObjectMetadataList
		secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		if err := c.List(ctx, &secrets); err != nil {
			return reqs
		}
		for _, s := range secrets.Items {
			if controllerutil.ContainsFinalizer(&s, spacesv1alpha1.CredentialsInUseFinalizer) {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&s)})
			}
		}
		return reqs
	})
	// Only what can change whether a Secret is in use: an object coming,
	// going, or changing where its key comes from; not status writes.
	users := builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		oldSrc, _ := sourceOf(e.ObjectOld)
		newSrc, _ := sourceOf(e.ObjectNew)
		return !reflect.DeepEqual(oldSrc, newSrc)
	}})
	return ctrl.NewControllerManagedBy(mgr).
		For(&corev1.Secret{}, builder.OnlyMetadata).
		Watches(&spacesv1alpha1.Space{}, toSecret, users).
		Watches(&spacesv1alpha1.SpaceInvite{}, toSecret, users).
		Watches(&spacesv1alpha1.ServiceAccountUserSet{}, toSecret, users).
		Watches(&spacesv1alpha1.ClusterSpacesAccount{}, toAccountSecrets).
		Named("credentials-in-use").
		Complete(r)
}

// Reconcile adds or removes the in-use finalizer of one Secret.
func (r *CredentialsReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	secret := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}
	if err := r.Get(ctx, req.NamespacedName, secret); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	inUse, err := r.inUse(ctx, req.NamespacedName)
	if err != nil {
		return ctrl.Result{}, err
	}
	has := controllerutil.ContainsFinalizer(secret, spacesv1alpha1.CredentialsInUseFinalizer)
	// A Secret being deleted cannot take new finalizers.
	if inUse == has || (inUse && !secret.DeletionTimestamp.IsZero()) {
		return ctrl.Result{}, nil
	}
	patch := client.MergeFromWithOptions(secret.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if inUse {
		controllerutil.AddFinalizer(secret, spacesv1alpha1.CredentialsInUseFinalizer)
	} else {
		controllerutil.RemoveFinalizer(secret, spacesv1alpha1.CredentialsInUseFinalizer)
	}
	ctrl.LoggerFrom(ctx).Info("Updating the in-use finalizer of a credentials Secret", "inUse", inUse)
	return ctrl.Result{}, client.IgnoreNotFound(r.Patch(ctx, secret, patch))
}

// inUse reports whether any object, deleting ones included, takes its
// credentials from secret: directly, or through an account naming it.
func (r *CredentialsReconciler) inUse(ctx context.Context, secret types.NamespacedName) (bool, error) {
	sources, err := sourcesOfSecret(ctx, r.Client, secret)
	if err != nil {
		return false, err
	}
	for _, src := range sources {
		for _, list := range credentialUsers() {
			// Whether there is one is all that matters: no deep copies.
			if err := r.List(ctx, list, client.MatchingFields{indexCredentialsSource: src}, client.UnsafeDisableDeepCopy); err != nil {
				return false, err
			}
			if meta.LenList(list) > 0 {
				return true, nil
			}
		}
	}
	return false, nil
}
