package controller

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
)

// TestListByValue: objects whose values share a bucket are told apart, in
// every namespace, and an object without the value is never listed.
func TestListByValue(t *testing.T) {
	// Two space ids in one bucket, found by search: the test holds for any
	// hash.
	seen := map[string]string{}
	var a, b string
	for i := 0; a == ""; i++ {
		id := fmt.Sprintf("%024x", i)
		if other, ok := seen[bucketOf(id)]; ok {
			a, b = other, id
		}
		seen[bucketOf(id)] = id
	}
	space := func(ns, name, id string) *spacesv1alpha1.Space {
		return &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spacesv1alpha1.SpaceSpec{Title: name, SpaceID: id}}
	}
	invite := func(ns, name, space string) *spacesv1alpha1.SpaceInvite {
		return &spacesv1alpha1.SpaceInvite{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spacesv1alpha1.SpaceInviteSpec{SpaceRef: &spacesv1alpha1.SpaceReference{Name: space}}}
	}
	scheme := runtime.NewScheme()
	_ = spacesv1alpha1.AddToScheme(scheme)
	bucketed := func(fn client.IndexerFunc) client.IndexerFunc {
		return func(o client.Object) []string {
			values := fn(o)
			for i, v := range values {
				values[i] = bucketOf(v)
			}
			return values
		}
	}
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithIndex(&spacesv1alpha1.Space{}, indexSpaceID, bucketed(spaceIDValues)).
		WithIndex(&spacesv1alpha1.SpaceInvite{}, indexSpaceRef, bucketed(spaceRefValues)).
		WithObjects(space("team-a", "one", a), space("team-b", "two", a), space("team-a", "three", b), space("team-a", "none", ""),
			invite("team-a", "i1", "one"), invite("team-b", "i2", "one"), invite("team-a", "i3", "three")).
		Build()

	var spacesList spacesv1alpha1.SpaceList
	if err := listByValue(context.Background(), c, &spacesList, indexSpaceID, a); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sp := range spacesList.Items {
		names = append(names, sp.Namespace+"/"+sp.Name)
	}
	if fmt.Sprint(names) != "[team-a/one team-b/two]" {
		t.Errorf("Spaces with id %s: %v, want team-a/one and team-b/two (team-a/three has %s, in the same bucket)", a, names, b)
	}
	var invites spacesv1alpha1.SpaceInviteList
	if err := listByValue(context.Background(), c, &invites, indexSpaceRef, "team-a/one"); err != nil {
		t.Fatal(err)
	}
	if len(invites.Items) != 1 || invites.Items[0].Name != "i1" {
		t.Errorf("invites of team-a/one: %+v, want i1 only (team-b's i2 names its own namespace's Space)", invites.Items)
	}
}
