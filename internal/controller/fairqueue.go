package controller

import (
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// fairQueue is controller-runtime's priority queue, made fair between
// namespaces: an object created or changed (a plain add, at the default
// priority) goes in behind the other objects of its namespace already
// waiting, and ahead of those of busier namespaces. Its priority is minus
// the number of objects of its namespace waiting before it, so the
// queue serves the namespaces' first objects first, then their seconds,
// and so on: one namespace's thousand creates do not hold up another's
// one. Priorities stay above handler.LowPriority, so new work still goes
// before every drift check. Requeues after a wait or a failure keep the
// priority they ask for; items asked to wait wait in parking, outside the
// priority queue, until their time.
type fairQueue struct {
	priorityqueue.PriorityQueue[reconcile.Request]
	parking *parking
	// spread says how long a look at an unchanged object may wait
	// (Reconciler.spreadLook); nil: not at all.
	spread func(reconcile.Request) (time.Duration, bool)

	mu      sync.Mutex
	waiting map[string]map[string]struct{} // namespace → names added and not yet taken
}

// maxFairDepth bounds how far behind a namespace's objects are put: the
// lowest fair priority stays above handler.LowPriority.
const maxFairDepth = -handler.LowPriority - 1

func newFairQueue(name string, rateLimiter workqueue.TypedRateLimiter[reconcile.Request], spread func(reconcile.Request) (time.Duration, bool)) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	q := &fairQueue{
		spread: spread,
		PriorityQueue: priorityqueue.New(name, func(o *priorityqueue.Opts[reconcile.Request]) {
			o.RateLimiter = rateLimiter
			o.Log = ctrl.Log.WithName("controller").WithValues("controller", name)
		}),
		waiting: map[string]map[string]struct{}{},
	}
	q.parking = newParking(func(priority int, reqs []reconcile.Request) {
		q.PriorityQueue.AddWithOpts(priorityqueue.AddOpts{Priority: &priority}, reqs...)
	})
	return q
}

// AddWithOpts parks items asked to wait, spreads looks at unchanged
// objects, and gives plain adds their namespace's fair priority.
func (q *fairQueue) AddWithOpts(o priorityqueue.AddOpts, items ...reconcile.Request) {
	if q.spread != nil && unchangedLook(o) {
		// One look per object: the informers of the object, of its Secret,
		// its account and its namespace each list it at a start, and a
		// second spread turn would only bring its look forward.
		var now []reconcile.Request
		for _, item := range items {
			if q.parking.waiting(item) {
				continue
			}
			if wait, ok := q.spread(item); ok {
				q.parking.parkIfAbsent(item, time.Now().Add(wait), handler.LowPriority)
			} else {
				now = append(now, item)
			}
		}
		if items = now; len(items) == 0 {
			return
		}
	}
	if o.After > 0 && !o.RateLimited {
		due, priority := time.Now().Add(o.After), 0
		if o.Priority != nil {
			priority = *o.Priority
		}
		for _, item := range items {
			q.parking.park(item, due, priority)
		}
		return
	}
	for _, item := range items {
		q.parking.unpark(item)
	}
	if o.RateLimited || (o.Priority != nil && *o.Priority < 0) {
		q.PriorityQueue.AddWithOpts(o, items...)
		return
	}
	for _, item := range items {
		o.Priority = new(q.place(item))
		q.PriorityQueue.AddWithOpts(o, item)
	}
}

// unchangedLook says whether an add asks for a look at an object that did
// not change: controller-runtime's handlers add the objects an informer
// lists (at its start and its resyncs) at handler.LowPriority, everything
// else at a higher one.
func unchangedLook(o priorityqueue.AddOpts) bool {
	return o.After == 0 && !o.RateLimited && o.Priority != nil && *o.Priority == handler.LowPriority
}

// place records item as waiting and returns its fair priority.
func (q *fairQueue) place(item reconcile.Request) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	names := q.waiting[item.Namespace]
	if names == nil {
		names = map[string]struct{}{}
		q.waiting[item.Namespace] = names
	}
	ahead := len(names)
	if _, already := names[item.Name]; already {
		ahead-- // its place is where it already is
	}
	names[item.Name] = struct{}{}
	return -min(ahead, maxFairDepth)
}

func (q *fairQueue) taken(item reconcile.Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if names := q.waiting[item.Namespace]; names != nil {
		delete(names, item.Name)
		if len(names) == 0 {
			delete(q.waiting, item.Namespace)
		}
	}
}

func (q *fairQueue) ShutDown() {
	q.parking.shutDown()
	q.PriorityQueue.ShutDown()
}

func (q *fairQueue) ShutDownWithDrain() {
	q.parking.shutDown()
	q.PriorityQueue.ShutDownWithDrain()
}

func (q *fairQueue) Add(item reconcile.Request) {
	q.AddWithOpts(priorityqueue.AddOpts{}, item)
}

func (q *fairQueue) AddAfter(item reconcile.Request, after time.Duration) {
	q.AddWithOpts(priorityqueue.AddOpts{After: after}, item)
}

func (q *fairQueue) AddRateLimited(item reconcile.Request) {
	q.AddWithOpts(priorityqueue.AddOpts{RateLimited: true}, item)
}

func (q *fairQueue) GetWithPriority() (reconcile.Request, int, bool) {
	item, priority, shutdown := q.PriorityQueue.GetWithPriority()
	if !shutdown {
		q.taken(item)
	}
	return item, priority, shutdown
}

func (q *fairQueue) Get() (reconcile.Request, bool) {
	item, _, shutdown := q.GetWithPriority()
	return item, shutdown
}
