package controller

import (
	"container/heap"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// parking holds the items added to wait (drift checks, spread first looks,
// deferred drift turns) outside the priority queue, and adds each to it
// when its wait is over. The priority queue keeps, for every waiting item,
// a tree node, a map entry and a metrics entry (about 390 bytes; 8 MiB of
// the heap with 20,000 objects Ready); here an item costs a heap slot and
// a map entry, about 100 bytes.
//
// It keeps the priority queue's rule that an item waits once, for the
// earliest time asked: a longer wait asked while it waits changes nothing,
// and an add without a wait (a change, a retry) takes it out of the
// parking, since the reconcile that follows asks for its own next wait.
type parking struct {
	mu    sync.Mutex
	items parkedHeap
	wake  chan struct{}
	stop  chan struct{}
	once  sync.Once
}

type parked struct {
	req      reconcile.Request
	due      int64 // Unix nanoseconds
	priority int
}

func newParking(release func(priority int, reqs []reconcile.Request)) *parking {
	p := &parking{items: parkedHeap{at: map[reconcile.Request]int{}}, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	go p.run(release)
	return p
}

// park makes req wait until at, or keeps its earlier time; the higher
// priority of the two stays.
func (p *parking) park(req reconcile.Request, at time.Time, priority int) {
	p.put(req, at, priority, false)
}

// parkIfAbsent makes req wait until at unless it already waits.
func (p *parking) parkIfAbsent(req reconcile.Request, at time.Time, priority int) {
	p.put(req, at, priority, true)
}

func (p *parking) put(req reconcile.Request, at time.Time, priority int, ifAbsent bool) {
	due := at.UnixNano()
	p.mu.Lock()
	earliest := len(p.items.list) == 0 || due < p.items.list[0].due
	if i, ok := p.items.at[req]; ok {
		it := &p.items.list[i]
		if ifAbsent || due >= it.due {
			it.priority = max(it.priority, priority)
			p.mu.Unlock()
			return
		}
		it.due, it.priority = due, max(it.priority, priority)
		heap.Fix(&p.items, i)
	} else {
		heap.Push(&p.items, parked{req: req, due: due, priority: priority})
	}
	p.mu.Unlock()
	if earliest {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// waiting says whether req waits.
func (p *parking) waiting(req reconcile.Request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.items.at[req]
	return ok
}

// unpark drops req's wait: it is being added to the queue now.
func (p *parking) unpark(req reconcile.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i, ok := p.items.at[req]; ok {
		heap.Remove(&p.items, i)
	}
}

// Len is the number of items waiting.
func (p *parking) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items.list)
}

func (p *parking) shutDown() { p.once.Do(func() { close(p.stop) }) }

func (p *parking) run(release func(priority int, reqs []reconcile.Request)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, next := p.takeDue(time.Now())
		for priority, reqs := range due {
			release(priority, reqs)
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = time.Until(next)
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-p.wake:
		case <-p.stop:
			return
		}
	}
}

// takeDue removes the items due at now, by priority, and says when the
// next one is due (zero when none waits).
func (p *parking) takeDue(now time.Time) (map[int][]reconcile.Request, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var due map[int][]reconcile.Request
	for len(p.items.list) > 0 && p.items.list[0].due <= now.UnixNano() {
		it := heap.Pop(&p.items).(parked)
		if due == nil {
			due = map[int][]reconcile.Request{}
		}
		due[it.priority] = append(due[it.priority], it.req)
	}
	if len(p.items.list) == 0 {
		return due, time.Time{}
	}
	return due, time.Unix(0, p.items.list[0].due)
}

// parkedHeap is a min-heap by due time that knows where each request is.
type parkedHeap struct {
	list []parked
	at   map[reconcile.Request]int
}

func (h *parkedHeap) Len() int           { return len(h.list) }
func (h *parkedHeap) Less(i, j int) bool { return h.list[i].due < h.list[j].due }
func (h *parkedHeap) Swap(i, j int) {
	h.list[i], h.list[j] = h.list[j], h.list[i]
	h.at[h.list[i].req], h.at[h.list[j].req] = i, j
}
func (h *parkedHeap) Push(x any) {
	it := x.(parked)
	h.at[it.req] = len(h.list)
	h.list = append(h.list, it)
}
func (h *parkedHeap) Pop() any {
	it := h.list[len(h.list)-1]
	h.list = h.list[:len(h.list)-1]
	delete(h.at, it.req)
	return it
}
