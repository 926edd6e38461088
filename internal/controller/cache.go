package controller

import (
	"unique"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
)

// lastAppliedAnnotation is where client-side kubectl apply keeps the whole
// object it applied: for a Secret, its data.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// CacheOptions is what the manager caches: every kind in watchNamespaces
// (all when empty), and of Secrets only their metadata, also in
// operatorNamespace (where the accounts' keys live), without managedFields
// or the last-applied annotation: a Secret created by client-side kubectl
// apply carries its data in that annotation, and the cache must hold
// neither key material nor more than a few hundred bytes per Secret.
func CacheOptions(watchNamespaces []string, operatorNamespace string) cache.Options {
	secretMeta := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}}
	secrets := cache.ByObject{Transform: stripMetadata}
	// Every other cached object loses the same: managedFields alone are
	// often the biggest part of a small object, and nothing here reads them.
	opts := cache.Options{ByObject: map[client.Object]cache.ByObject{secretMeta: secrets}, DefaultTransform: stripMetadata}
	if len(watchNamespaces) == 0 {
		return opts
	}
	opts.DefaultNamespaces = map[string]cache.Config{}
	secrets.Namespaces = map[string]cache.Config{}
	for _, ns := range watchNamespaces {
		opts.DefaultNamespaces[ns] = cache.Config{}
		secrets.Namespaces[ns] = cache.Config{}
	}
	if operatorNamespace != "" {
		secrets.Namespaces[operatorNamespace] = cache.Config{}
	}
	opts.ByObject[secretMeta] = secrets
	return opts
}

// stripMetadata drops from a cached object what the operator never reads
// (and, of a Secret, must not hold), and shares the strings that tens of
// thousands of cached objects repeat: every decoded object would
// otherwise hold its own copy of its namespace, finalizer, annotation
// keys and condition types, statuses and reasons.
func stripMetadata(obj any) (any, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return obj, nil // a tombstone: nothing to strip
	}
	m.SetManagedFields(nil)
	ann := m.GetAnnotations()
	delete(ann, lastAppliedAnnotation)
	m.SetAnnotations(internKeys(ann))
	m.SetLabels(internKeys(m.GetLabels()))
	m.SetNamespace(intern(m.GetNamespace()))
	f := m.GetFinalizers()
	for i := range f {
		f[i] = intern(f[i])
	}
	if s := commonStatusOf(obj); s != nil {
		for i := range s.Conditions {
			c := &s.Conditions[i]
			c.Type, c.Status, c.Reason = intern(c.Type), metav1.ConditionStatus(intern(string(c.Status))), intern(c.Reason)
		}
	}
	return obj, nil
}

// commonStatusOf is the status every kind of the operator has; nil for
// other objects.
func commonStatusOf(obj any) *spacesv1alpha1.CommonStatus {
	switch x := obj.(type) {
	case *spacesv1alpha1.Space:
		return &x.Status.CommonStatus
	case *spacesv1alpha1.SpaceInvite:
		return &x.Status.CommonStatus
	case *spacesv1alpha1.ServiceAccountUserSet:
		return &x.Status.CommonStatus
	case *spacesv1alpha1.ClusterSpacesAccount:
		return &x.Status.CommonStatus
	}
	return nil
}

func intern(s string) string { return unique.Make(s).Value() }

func internKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[intern(k)] = v
	}
	return out
}
