package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
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
	toSecret := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		if secret, ok := secretOf(r.Credentials, o); ok {
			return []reconcile.Request{{NamespacedName: secret}}
		}
		return nil
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&corev1.Secret{}, builder.OnlyMetadata).
		Watches(&spacesv1alpha1.Space{}, toSecret).
		Watches(&spacesv1alpha1.SpaceInvite{}, toSecret).
		Watches(&spacesv1alpha1.ServiceAccountUserSet{}, toSecret).
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
// credentials from secret.
func (r *CredentialsReconciler) inUse(ctx context.Context, secret types.NamespacedName) (bool, error) {
	for _, list := range credentialUsers() {
		if err := r.List(ctx, list, client.MatchingFields{indexCredentialsSecret: secret.String()}); err != nil {
			return false, err
		}
		if meta.LenList(list) > 0 {
			return true, nil
		}
	}
	return false, nil
}
