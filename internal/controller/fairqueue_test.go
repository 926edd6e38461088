package controller

import (
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func request(ns, name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
}

// TestFairQueue: team A queues 300 creates, then team B one, and there
// are drift checks waiting: B's create is served right after A's first,
// the namespaces then alternate, every create goes before every drift
// check, and a re-added object keeps its place.
func TestFairQueue(t *testing.T) {
	q := newFairQueue("test", newBackoff()).(*fairQueue)
	defer q.ShutDown()
	q.AddWithOpts(priorityqueue.AddOpts{Priority: new(handler.LowPriority)}, request("a", "drift-0"), request("b", "drift-1"))
	for i := range 300 {
		q.Add(request("a", fmt.Sprintf("create-%d", i)))
	}
	q.Add(request("a", "create-0")) // again, while waiting
	q.Add(request("b", "create-0"))
	q.Add(request("b", "create-1"))
	var order []string
	deadline := time.Now().Add(10 * time.Second)
	for q.Len() > 0 && time.Now().Before(deadline) {
		item, _, _ := q.GetWithPriority()
		order = append(order, item.Namespace+"/"+item.Name)
		q.Done(item)
	}
	if len(order) != 304 {
		t.Fatalf("served %d items, want 304 (300 + 2 creates, 2 drift checks, no duplicate)", len(order))
	}
	if want := []string{"a/create-0", "b/create-0", "a/create-1", "b/create-1", "a/create-2"}; fmt.Sprint(order[:5]) != fmt.Sprint(want) {
		t.Errorf("first served %v, want %v", order[:5], want)
	}
	if tail := order[302:]; tail[0] != "a/drift-0" && tail[0] != "b/drift-1" {
		t.Errorf("the drift checks were not served last: %v", tail)
	}
	// Taken items no longer count: a namespace that drained starts afresh.
	q.Add(request("a", "later"))
	if item, priority, _ := q.GetWithPriority(); item.Name != "later" || priority != 0 {
		t.Errorf("after A drained, its next create came with priority %d", priority)
	}
}
