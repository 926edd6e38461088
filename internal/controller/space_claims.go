package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
)

// A space is managed by one Space object in the cluster at most: the one
// already managing it, else the oldest one that records its id
// (spec.spaceID, or the id the operator recorded), holds the claim. Any other is SpaceClaimed and never writes to,
// nor deletes, the space: two objects would otherwise overwrite each other
// for ever, and one team could take over, or delete, another's space.

// claimHolder is the Space holding the claim to space id, nil when no
// Space records it.
func claimHolder(ctx context.Context, c client.Reader, id string) (*spacesv1alpha1.Space, error) {
	var list spacesv1alpha1.SpaceList
	if err := listByValue(ctx, c, &list, indexSpaceID, id); err != nil {
		return nil, err
	}
	var holder *spacesv1alpha1.Space
	for i := range list.Items {
		if sp := &list.Items[i]; holder == nil || claimsEarlier(sp, holder, id) {
			holder = sp
		}
	}
	return holder, nil
}

// claimsEarlier orders claims to id: the object already managing the space
// (its status, which only the operator writes, says so) first; then the
// older object; for objects made in the same second, by namespace and name,
// so every reader agrees.
func claimsEarlier(a, b *spacesv1alpha1.Space, id string) bool {
	if ma, mb := a.Status.SpaceID == id, b.Status.SpaceID == id; ma != mb {
		return ma
	}
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return client.ObjectKeyFromObject(a).String() < client.ObjectKeyFromObject(b).String()
}

// checkClaim is a zero outcome and true when sp holds the claim to id; the
// SpaceClaimed stall otherwise. The holder is named only to its own
// namespace: another team's object names are not this team's business.
func checkClaim(ctx context.Context, c client.Reader, sp *spacesv1alpha1.Space, id string) (outcome, bool, error) {
	holder, err := claimHolder(ctx, c, id)
	if err != nil || holder == nil || holder.UID == sp.UID {
		return outcome{}, true, err
	}
	who := "another Space in the cluster"
	if holder.Namespace == sp.Namespace {
		who = fmt.Sprintf("Space %q in this namespace", holder.Name)
	}
	return stalled(spacesv1alpha1.ReasonSpaceClaimed, fmt.Sprintf(
		"space %s is already managed by %s, which claimed it first; a space is managed by one Space only: delete this Space (nothing happens to the space), or manage the space through the other one",
		id, who)), false, nil
}

// claimantsOnRelease wakes the Spaces waiting for a claim when its holder
// lets go of it: deleted, or recording another id.
func claimantsOnRelease(c client.Reader) handler.TypedEventHandler[client.Object, reconcile.Request] {
	enqueue := func(ctx context.Context, released string, self types.UID, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		if released == "" {
			return
		}
		var list spacesv1alpha1.SpaceList
		if err := listByValue(ctx, c, &list, indexSpaceID, released); err != nil {
			return
		}
		for _, sp := range list.Items {
			if sp.UID != self {
				q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&sp)})
			}
		}
	}
	return handler.TypedFuncs[client.Object, reconcile.Request]{
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if sp, ok := e.Object.(*spacesv1alpha1.Space); ok {
				enqueue(ctx, recordedSpaceID(sp), sp.UID, q)
			}
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			old, okOld := e.ObjectOld.(*spacesv1alpha1.Space)
			cur, okNew := e.ObjectNew.(*spacesv1alpha1.Space)
			if okOld && okNew && recordedSpaceID(old) != recordedSpaceID(cur) {
				enqueue(ctx, recordedSpaceID(old), cur.UID, q)
			}
		},
	}
}
