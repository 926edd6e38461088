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
	q := newFairQueue("test", newBackoff(), nil).(*fairQueue)
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

// TestFairQueue_Parking: items asked to wait stay out of the priority
// queue until their time, then come with the priority they asked for; an
// item waits once, for the earliest time asked; an add without a wait
// takes an item out of the parking, so it is served once, not again when
// its wait would have ended.
func TestFairQueue_Parking(t *testing.T) {
	q := newFairQueue("test", newBackoff(), nil).(*fairQueue)
	defer q.ShutDown()
	low := new(handler.LowPriority)
	q.AddWithOpts(priorityqueue.AddOpts{After: 300 * time.Millisecond, Priority: low}, request("a", "drift"))
	q.AddWithOpts(priorityqueue.AddOpts{After: time.Hour, Priority: low}, request("a", "drift")) // later: changes nothing
	q.AddWithOpts(priorityqueue.AddOpts{After: time.Hour}, request("a", "sooner"))
	q.AddWithOpts(priorityqueue.AddOpts{After: 100 * time.Millisecond}, request("a", "sooner")) // earlier: wins
	q.AddWithOpts(priorityqueue.AddOpts{After: 200 * time.Millisecond}, request("a", "changed"))
	q.Add(request("a", "changed")) // a change while it waits
	if got := q.parking.Len(); got != 2 {
		t.Fatalf("%d items parked, want 2", got)
	}
	type served struct {
		name     string
		priority int
		after    time.Duration
	}
	start := time.Now()
	var order []served
	for len(order) < 3 {
		item, priority, _ := q.GetWithPriority()
		order = append(order, served{item.Name, priority, time.Since(start)})
		q.Done(item)
	}
	if order[0].name != "changed" || order[0].after > 100*time.Millisecond {
		t.Errorf("the changed item was not served at once: %+v", order)
	}
	if order[1].name != "sooner" || order[1].after < 100*time.Millisecond || order[1].priority != 0 {
		t.Errorf("second served %+v, want sooner after its 100 ms at priority 0", order[1])
	}
	if order[2].name != "drift" || order[2].after < 300*time.Millisecond || order[2].priority != handler.LowPriority {
		t.Errorf("third served %+v, want drift after its 300 ms at low priority", order[2])
	}
	time.Sleep(300 * time.Millisecond) // when changed's wait would have ended
	if q.Len() != 0 || q.parking.Len() != 0 {
		t.Errorf("%d queued and %d parked after all were served once", q.Len(), q.parking.Len())
	}
}

// TestParking_ManyItems: thousands of items are released in the order
// they are due, and the heap's index stays right through removals.
func TestParking_ManyItems(t *testing.T) {
	released := make(chan reconcile.Request, 3000)
	p := newParking(func(_ int, reqs []reconcile.Request) {
		for _, r := range reqs {
			released <- r
		}
	})
	defer p.shutDown()
	base := time.Now().Add(200 * time.Millisecond)
	for i := range 3000 {
		p.park(request("a", fmt.Sprint(i)), base.Add(time.Duration((i*7919)%3000)*time.Microsecond), 0)
	}
	for i := 0; i < 3000; i += 3 {
		p.unpark(request("a", fmt.Sprint(i)))
	}
	var last time.Duration = -1
	for range 2000 {
		r := <-released
		var i int
		_, _ = fmt.Sscan(r.Name, &i)
		if i%3 == 0 {
			t.Fatalf("unparked item %d released", i)
		}
		due := time.Duration((i*7919)%3000) * time.Microsecond
		if due < last {
			t.Fatalf("item due at %v released after one due at %v", due, last)
		}
		last = due
	}
	if p.Len() != 0 {
		t.Fatalf("%d left parked", p.Len())
	}
}

// TestFairQueue_SpreadsUnchangedLooks: the adds controller-runtime makes
// for objects an informer lists without a change (low priority, no wait)
// wait their spread turn when the reconciler says the object may wait,
// and go now when it may not; an object listed again keeps its turn;
// changes and retries are never spread.
func TestFairQueue_SpreadsUnchangedLooks(t *testing.T) {
	asked := map[string]int{}
	q := newFairQueue("test", newBackoff(), func(req reconcile.Request) (time.Duration, bool) {
		asked[req.Name]++
		return time.Hour, req.Name != "not-ready"
	}).(*fairQueue)
	defer q.ShutDown()
	low := new(handler.LowPriority)
	q.AddWithOpts(priorityqueue.AddOpts{Priority: low}, request("a", "ready"), request("a", "not-ready"))
	// Listed again (by the informer of its Secret): its turn stays.
	q.AddWithOpts(priorityqueue.AddOpts{Priority: low}, request("a", "ready"))
	q.Add(request("a", "changed"))
	q.AddRateLimited(request("a", "failed"))
	if q.parking.Len() != 1 {
		t.Fatalf("%d parked, want 1 (the Ready object)", q.parking.Len())
	}
	if asked["changed"]+asked["failed"] != 0 || asked["ready"] != 1 {
		t.Fatalf("offered for spreading: %v, want the Ready object once, no change nor retry", asked)
	}
	got := map[string]bool{}
	for range 2 {
		item, _, _ := q.GetWithPriority()
		got[item.Name] = true
		q.Done(item)
	}
	if !got["changed"] || !got["not-ready"] {
		t.Fatalf("served %v, want the change and the object not Ready", got)
	}
	// A change to the waiting object ends its wait.
	q.Add(request("a", "ready"))
	if item, _, _ := q.GetWithPriority(); item.Name != "ready" || q.parking.Len() != 0 {
		t.Fatalf("served %s with %d parked, want ready and none", item.Name, q.parking.Len())
	}
}
