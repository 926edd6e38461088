package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/credentials"
)

// Field indexes, so that watches map a Secret or a space id to objects
// without listing everything.
const (
	// indexCredentialsSecret holds "namespace/name" of the Secret an object's
	// credentials come from (its own ref, or the default).
	indexCredentialsSecret = "spaces.avayacloud.com/credentials-secret"
	// indexSpaceID holds the space id a Space manages.
	indexSpaceID = "spaces.avayacloud.com/space-id"
)

// credentialsHolder is what the three kinds share for credentials lookup.
type credentialsHolder interface {
	client.Object
	credentialsRef() *spacesv1alpha1.CredentialsReference
}

type spaceHolder struct{ *spacesv1alpha1.Space }

func (s spaceHolder) credentialsRef() *spacesv1alpha1.CredentialsReference {
	return s.Spec.CredentialsRef
}

// SetupIndexes registers the field indexes every controller relies on.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager, resolver *credentials.Resolver) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &spacesv1alpha1.Space{}, indexCredentialsSecret, func(o client.Object) []string {
		return secretIndexValue(resolver, spaceHolder{o.(*spacesv1alpha1.Space)})
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &spacesv1alpha1.Space{}, indexSpaceID, func(o client.Object) []string {
		if id := recordedSpaceID(o.(*spacesv1alpha1.Space)); id != "" {
			return []string{id}
		}
		return nil
	})
}

// credentialUsers are the lists of kinds whose objects may use a Secret.
func credentialUsers() []client.ObjectList {
	return []client.ObjectList{&spacesv1alpha1.SpaceList{}}
}

func secretIndexValue(resolver *credentials.Resolver, o credentialsHolder) []string {
	secret, _, ok := resolver.SecretFor(o.GetNamespace(), o.credentialsRef())
	if !ok {
		return nil
	}
	return []string{secret.String()}
}

// requestsForSecret maps a Secret to the objects of list whose credentials
// it holds.
func requestsForSecret(c client.Client, list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, secret client.Object) []reconcile.Request {
		key := types.NamespacedName{Namespace: secret.GetNamespace(), Name: secret.GetName()}.String()
		if err := c.List(ctx, list, client.MatchingFields{indexCredentialsSecret: key}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing the objects of a Secret", "secret", key)
			return nil
		}
		var reqs []reconcile.Request
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o.(client.Object))})
			return nil
		})
		return reqs
	}
}
