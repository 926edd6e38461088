package controller

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
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
	// indexSpaceRef holds "namespace/name" of a SpaceInvite's Space.
	indexSpaceRef = "spaces.avayacloud.com/space-ref"
	// indexUserEmail holds the emails of a ServiceAccountUserSet.
	indexUserEmail = "spaces.avayacloud.com/user-email"
)

// credentialsOf says whether an object takes credentials itself, and its
// reference (nil: the default). A SpaceInvite with spaceRef uses its
// Space's credentials, not its own.
func credentialsOf(o client.Object) (*spacesv1alpha1.CredentialsReference, bool) {
	switch x := o.(type) {
	case *spacesv1alpha1.Space:
		return x.Spec.CredentialsRef, true
	case *spacesv1alpha1.SpaceInvite:
		return x.Spec.CredentialsRef, x.Spec.SpaceRef == nil
	case *spacesv1alpha1.ServiceAccountUserSet:
		return x.Spec.CredentialsRef, true
	}
	return nil, false
}

// secretOf names the Secret an object takes its credentials from.
func secretOf(resolver *credentials.Resolver, o client.Object) (types.NamespacedName, bool) {
	ref, uses := credentialsOf(o)
	if !uses {
		return types.NamespacedName{}, false
	}
	secret, _, ok := resolver.SecretFor(o.GetNamespace(), ref)
	return secret, ok
}

// SetupIndexes registers the field indexes every controller relies on.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager, resolver *credentials.Resolver) error {
	bySecret := func(o client.Object) []string {
		if secret, ok := secretOf(resolver, o); ok {
			return []string{secret.String()}
		}
		return nil
	}
	indexes := []struct {
		obj   client.Object
		field string
		fn    client.IndexerFunc
	}{
		{&spacesv1alpha1.Space{}, indexCredentialsSecret, bySecret},
		{&spacesv1alpha1.SpaceInvite{}, indexCredentialsSecret, bySecret},
		{&spacesv1alpha1.ServiceAccountUserSet{}, indexCredentialsSecret, bySecret},
		{&spacesv1alpha1.Space{}, indexSpaceID, func(o client.Object) []string {
			if id := recordedSpaceID(o.(*spacesv1alpha1.Space)); id != "" {
				return []string{id}
			}
			return nil
		}},
		{&spacesv1alpha1.SpaceInvite{}, indexSpaceRef, func(o client.Object) []string {
			if ref := o.(*spacesv1alpha1.SpaceInvite).Spec.SpaceRef; ref != nil {
				return []string{o.GetNamespace() + "/" + ref.Name}
			}
			return nil
		}},
		{&spacesv1alpha1.ServiceAccountUserSet{}, indexUserEmail, func(o client.Object) []string {
			var emails []string
			for _, u := range o.(*spacesv1alpha1.ServiceAccountUserSet).Spec.Users {
				emails = append(emails, u.Email)
			}
			return emails
		}},
	}
	for _, i := range indexes {
		if err := mgr.GetFieldIndexer().IndexField(ctx, i.obj, i.field, i.fn); err != nil {
			return err
		}
	}
	return nil
}

// credentialUsers are the lists of kinds whose objects may use a Secret.
func credentialUsers() []client.ObjectList {
	return []client.ObjectList{&spacesv1alpha1.SpaceList{}, &spacesv1alpha1.SpaceInviteList{}, &spacesv1alpha1.ServiceAccountUserSetList{}}
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

// credentialsChanged passes Secret events that may change a credential:
// not the operator's own in-use finalizer coming or going, which would wake
// every user of the Secret for nothing.
func credentialsChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return slices.Equal(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers())
	}}
}
