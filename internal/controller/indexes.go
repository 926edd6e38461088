package controller

import (
	"context"
	"hash/maphash"
	"maps"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
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
	// indexCredentialsSource holds where an object's credentials come from:
	// credentials.SecretSourceKey or AccountSourceKey.
	indexCredentialsSource = "spaces.avayacloud.com/credentials-source"
	// indexSpaceID holds the space id a Space manages.
	indexSpaceID = "spaces.avayacloud.com/space-id"
	// indexSpaceRef holds "namespace/name" of a SpaceInvite's Space.
	indexSpaceRef = "spaces.avayacloud.com/space-ref"
	// indexUserEmail holds the emails of a ServiceAccountUserSet.
	indexUserEmail = "spaces.avayacloud.com/user-email"
)

// sourceOf says whether an object takes credentials itself, and from
// where. A SpaceInvite with spaceRef uses its Space's credentials, not its
// own.
func sourceOf(o client.Object) (credentials.Source, bool) {
	switch x := o.(type) {
	case *spacesv1alpha1.Space:
		return credentials.Source{CredentialsRef: x.Spec.CredentialsRef, AccountRef: x.Spec.AccountRef}, true
	case *spacesv1alpha1.SpaceInvite:
		return credentials.Source{CredentialsRef: x.Spec.CredentialsRef, AccountRef: x.Spec.AccountRef}, x.Spec.SpaceRef == nil
	case *spacesv1alpha1.ServiceAccountUserSet:
		return credentials.Source{CredentialsRef: x.Spec.CredentialsRef, AccountRef: x.Spec.AccountRef}, true
	}
	return credentials.Source{}, false
}

// sourceKeyOf is the index key of where an object takes its credentials.
func sourceKeyOf(resolver *credentials.Resolver, o client.Object) (string, bool) {
	src, uses := sourceOf(o)
	if !uses {
		return "", false
	}
	return resolver.SourceKey(o.GetNamespace(), src)
}

// SetupIndexes registers the field indexes every controller relies on.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager, resolver *credentials.Resolver) error {
	bySource := func(o client.Object) []string {
		if key, ok := sourceKeyOf(resolver, o); ok {
			return []string{key}
		}
		return nil
	}
	indexes := []struct {
		obj   client.Object
		field string
		fn    client.IndexerFunc
	}{
		{&spacesv1alpha1.Space{}, indexCredentialsSource, bySource},
		{&spacesv1alpha1.SpaceInvite{}, indexCredentialsSource, bySource},
		{&spacesv1alpha1.ServiceAccountUserSet{}, indexCredentialsSource, bySource},
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
	for field, u := range uniqueIndexes {
		if err := indexBuckets(ctx, mgr.GetCache(), u.obj, field, u.values); err != nil {
			return err
		}
	}
	return nil
}

// spaceIDValues is the space id a Space manages.
func spaceIDValues(o client.Object) []string {
	if id := recordedSpaceID(o.(*spacesv1alpha1.Space)); id != "" {
		return []string{id}
	}
	return nil
}

// spaceRefValues is "namespace/name" of a SpaceInvite's Space.
func spaceRefValues(o client.Object) []string {
	if ref := o.(*spacesv1alpha1.SpaceInvite).Spec.SpaceRef; ref != nil {
		return []string{o.GetNamespace() + "/" + ref.Name}
	}
	return nil
}

// uniqueIndexes are the fields nearly every object has a value of its own
// of, indexed by indexBuckets and looked up with listByValue only.
var uniqueIndexes = map[string]struct {
	obj    client.Object
	values client.IndexerFunc
}{
	indexSpaceID:  {&spacesv1alpha1.Space{}, spaceIDValues},
	indexSpaceRef: {&spacesv1alpha1.SpaceInvite{}, spaceRefValues},
}

// indexBuckets indexes a field whose values nearly every object has one of
// its own (a space id, a Space reference) by one of valueBuckets buckets
// of the value's hash, under controller-runtime's index name and
// cluster-wide key, and listByValue keeps the bucket's objects that have
// the value. controller-runtime's IndexField keeps a set of keys per value,
// twice (cluster-wide and in the namespace): a set per object, 250 bytes
// each, the biggest part of the informer indexes' heap at 10,000 Spaces
// and SpaceInvites.
func indexBuckets(ctx context.Context, informers cache.Informers, obj client.Object, field string, fn client.IndexerFunc) error {
	informer, err := informers.GetInformer(ctx, obj)
	if err != nil {
		return err
	}
	return informer.AddIndexers(toolscache.Indexers{"field:" + field: func(raw any) ([]string, error) {
		o, ok := raw.(client.Object)
		if !ok {
			return nil, nil
		}
		values := fn(o)
		for i, v := range values {
			values[i] = clusterWideIndexPrefix + bucketOf(v)
		}
		return values, nil
	}})
}

// valueBuckets is how many buckets a unique field's values fall in: a few
// objects each at 10,000, a lookup lists a bucket's few objects.
const valueBuckets = 4096

// bucketSeed makes buckets differ from process to process: a tenant who
// may set spec.spaceID cannot pick ids that all fall in the bucket of
// another team's space and slow its lookups.
var bucketSeed = maphash.MakeSeed()

// bucketOf is the bucket of a value.
func bucketOf(value string) string {
	return strconv.FormatUint(maphash.String(bucketSeed, value)%valueBuckets, 16)
}

// clusterWideIndexPrefix is how controller-runtime's cache names the
// cluster-wide key of an indexed value (internal.KeyToNamespacedKey): a
// list without client.InNamespace looks it up.
const clusterWideIndexPrefix = "__all_namespaces/"

// listByValue lists into list the objects whose unique field (indexed by
// indexBuckets) holds value, in every namespace.
func listByValue(ctx context.Context, c client.Reader, list client.ObjectList, field, value string) error {
	if err := c.List(ctx, list, client.MatchingFields{field: bucketOf(value)}); err != nil {
		return err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	kept := items[:0]
	for _, item := range items {
		if slices.Contains(uniqueIndexes[field].values(item.(client.Object)), value) {
			kept = append(kept, item)
		}
	}
	return meta.SetList(list, kept)
}

// credentialUsers are the lists of kinds whose objects may use a Secret.
func credentialUsers() []client.ObjectList {
	return []client.ObjectList{&spacesv1alpha1.SpaceList{}, &spacesv1alpha1.SpaceInviteList{}, &spacesv1alpha1.ServiceAccountUserSetList{}}
}

// requestsForSecret maps a Secret to the objects of list whose credentials
// it holds: directly, or through the accounts that name it.
func requestsForSecret(c client.Client, list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, secret client.Object) []reconcile.Request {
		key := types.NamespacedName{Namespace: secret.GetNamespace(), Name: secret.GetName()}
		sources, err := sourcesOfSecret(ctx, c, key)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing the accounts of a Secret", "secret", key)
		}
		return requestsForSources(ctx, c, list, sources...)
	}
}

// requestsForAccount maps a ClusterSpacesAccount to the objects of list
// that use it.
func requestsForAccount(c client.Client, list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, account client.Object) []reconcile.Request {
		return requestsForSources(ctx, c, list, credentials.AccountSourceKey(account.GetName()))
	}
}

// requestsForNamespace maps a Namespace to the objects of list in it (its
// labels decide which accounts it may use).
func requestsForNamespace(c client.Client, list client.ObjectList) handler.MapFunc {
	return func(ctx context.Context, ns client.Object) []reconcile.Request {
		if err := c.List(ctx, list, client.InNamespace(ns.GetName())); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing the objects of a namespace", "namespace", ns.GetName())
			return nil
		}
		return requestsOf(list)
	}
}

func requestsForSources(ctx context.Context, c client.Client, list client.ObjectList, sources ...string) []reconcile.Request {
	var reqs []reconcile.Request
	for _, src := range sources {
		if err := c.List(ctx, list, client.MatchingFields{indexCredentialsSource: src}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing the objects of a credentials source", "source", src)
			continue
		}
		reqs = append(reqs, requestsOf(list)...)
	}
	return reqs
}

func requestsOf(list client.ObjectList) []reconcile.Request {
	var reqs []reconcile.Request
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o.(client.Object))})
		return nil
	})
	return reqs
}

// sourcesOfSecret are the credential sources whose key is in secret: the
// Secret itself, and every account naming it (as far as they could be
// listed).
func sourcesOfSecret(ctx context.Context, c client.Reader, secret types.NamespacedName) ([]string, error) {
	sources := []string{credentials.SecretSourceKey(secret)}
	accounts, err := accountsOfSecret(ctx, c, secret)
	for _, a := range accounts {
		sources = append(sources, credentials.AccountSourceKey(a))
	}
	return sources, err
}

// accountsOfSecret names the ClusterSpacesAccounts whose key is in secret.
func accountsOfSecret(ctx context.Context, c client.Reader, secret types.NamespacedName) ([]string, error) {
	var accounts spacesv1alpha1.ClusterSpacesAccountList
	if err := c.List(ctx, &accounts); err != nil {
		return nil, err
	}
	var names []string
	for _, a := range accounts.Items {
		if credentials.AccountSecret(&a) == secret {
			names = append(names, a.Name)
		}
	}
	return names, nil
}

// labelsChanged passes Namespace updates that change its labels.
func labelsChanged() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		DeleteFunc: func(event.DeleteEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
		},
	}
}

// watchCredentialSources makes a controller of list's kind wake its
// objects when what their credentials come from changes: the Secret, the
// account, or the namespace's labels.
func watchCredentialSources(b *builder.Builder, c client.Client, list client.ObjectList) *builder.Builder {
	return b.
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(requestsForSecret(c, list)), builder.WithPredicates(credentialsChanged())).
		Watches(&spacesv1alpha1.ClusterSpacesAccount{}, handler.EnqueueRequestsFromMapFunc(requestsForAccount(c, list)), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(requestsForNamespace(c, list)), builder.WithPredicates(labelsChanged()))
}

// credentialsChanged passes Secret events that may change a credential:
// not the operator's own in-use finalizer coming or going, which would wake
// every user of the Secret for nothing.
func credentialsChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return slices.Equal(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers())
	}}
}
