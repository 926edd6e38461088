package controller

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
)

// TestPatchStatus: the patch names the status alone, and carries what
// changed in it: a value changed, a field emptied (null), a condition
// list replaced; the object ends as set left it.
func TestPatchStatus(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = spacesv1alpha1.AddToScheme(scheme)
	sp := &spacesv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "payments"}, Spec: spacesv1alpha1.SpaceSpec{Title: "Payments"}}
	sp.Status.SpaceID = "5f0c8a1e2b3c4d5e6f708192"
	sp.Status.LeftoverSpaceIDs = []string{"5f0c8a1e2b3c4d5e6f708193"}
	sp.Status.Conditions = []metav1.Condition{{Type: spacesv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "Progressing", LastTransitionTime: metav1.Now()}}
	var sent string
	c := interceptor.NewClient(fake.NewClientBuilder().WithScheme(scheme).WithObjects(sp).WithStatusSubresource(sp).Build(), interceptor.Funcs{
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			data, _ := patch.Data(obj)
			sent = string(data)
			return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
		},
	})
	obj := &spacesv1alpha1.Space{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(sp), obj); err != nil {
		t.Fatal(err)
	}
	err := patchStatus(context.Background(), c, obj, &obj.Status, func() {
		obj.Status.LeftoverSpaceIDs = nil
		obj.Status.MemberCount = 3
		obj.Status.Conditions[0].Status = metav1.ConditionTrue
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":{"conditions":[{"lastTransitionTime":"` + sp.Status.Conditions[0].LastTransitionTime.UTC().Format("2006-01-02T15:04:05Z") +
		`","message":"","reason":"Progressing","status":"True","type":"Ready"}],"leftoverSpaceIDs":null,"memberCount":3}}`
	if sent != want {
		t.Errorf("patch\n%s\nwant\n%s", sent, want)
	}
	got := &spacesv1alpha1.Space{}
	_ = c.Get(context.Background(), client.ObjectKeyFromObject(sp), got)
	if got.Status.LeftoverSpaceIDs != nil || got.Status.MemberCount != 3 || got.Status.SpaceID != sp.Status.SpaceID || got.Spec.Title != "Payments" ||
		got.Status.Conditions[0].Status != metav1.ConditionTrue {
		t.Errorf("stored %+v", got.Status)
	}
}
