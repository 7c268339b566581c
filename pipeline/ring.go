package pipeline

import "sync/atomic"

// cacheLine separates the producer's and the consumer's hot words, so the
// two cores do not bounce one cache line on every value.
const cacheLine = 64

// ring is a bounded single-producer single-consumer queue of plain values.
// Exactly one goroutine may call push/tryPush and exactly one other may call
// consume. Values are copied in and handed out by pointer to their slot, so
// a fixed-size value type moves through without allocating.
//
// Overflow policy: a full ring drops the newest value (push returns false)
// and counts it in dropped; the producer never waits and never locks.
type ring[T any] struct {
	name string
	mask uint64
	buf  []T
	wake *waker
	_    [cacheLine]byte

	tail       atomic.Uint64 // next slot to write; stored only by the producer
	cachedHead uint64        // producer's last view of head, saves a shared load
	batchTail  uint64        // pushBatched's tail, published by commit
	_          [cacheLine - 24]byte

	head       atomic.Uint64 // next slot to read; stored only by the consumer
	cachedTail uint64        // consumer's last view of tail
	_          [cacheLine - 16]byte

	dropped atomic.Uint64
}

// newRing returns a ring of at least size slots (rounded up to a power of
// two) whose consumer parks on w.
func newRing[T any](name string, size int, w *waker) *ring[T] {
	n := 2
	for n < size {
		n <<= 1
	}
	return &ring[T]{name: name, mask: uint64(n - 1), buf: make([]T, n), wake: w}
}

// tryPush copies *v into the ring and wakes a parked consumer. It returns
// false when the ring is full, without counting a drop.
func (r *ring[T]) tryPush(v *T) bool {
	t := r.tail.Load()
	if t-r.cachedHead > r.mask {
		r.cachedHead = r.head.Load()
		if t-r.cachedHead > r.mask {
			return false
		}
	}
	r.buf[t&r.mask] = *v
	r.tail.Store(t + 1)
	r.wake.signal()
	return true
}

// push is tryPush that counts a drop when the ring is full.
func (r *ring[T]) push(v *T) bool {
	if r.tryPush(v) {
		return true
	}
	r.dropped.Add(1)
	return false
}

// pushBatched is push for a producer that publishes a batch at once: the
// value becomes visible to the consumer at the next commit. One atomic store
// per batch instead of one per value (each is a full barrier). Do not mix
// with push on the same ring.
func (r *ring[T]) pushBatched(v *T) bool {
	t := r.batchTail
	if t-r.cachedHead > r.mask {
		r.cachedHead = r.head.Load()
		if t-r.cachedHead > r.mask {
			r.dropped.Add(1)
			return false
		}
	}
	r.buf[t&r.mask] = *v
	r.batchTail = t + 1
	// A long round (many devices) must not fill the ring with values the
	// consumer cannot see yet.
	if r.batchTail-r.tail.Load() >= commitEvery {
		r.commit()
	}
	return true
}

// commitEvery bounds how many values pushBatched holds back before it
// publishes them on its own.
const commitEvery = 64

// commit publishes the values pushBatched since the last commit and wakes a
// parked consumer.
func (r *ring[T]) commit() {
	if r.batchTail != r.tail.Load() {
		r.tail.Store(r.batchTail)
		r.wake.signal()
	}
}

// consume calls f on up to max queued values, oldest first, then frees their
// slots. The pointer is valid only during the call. It returns the count.
func (r *ring[T]) consume(max int, f func(*T)) int {
	h := r.head.Load()
	if h == r.cachedTail {
		r.cachedTail = r.tail.Load()
		if h == r.cachedTail {
			return 0
		}
	}
	n := r.cachedTail - h
	if n > uint64(max) {
		n = uint64(max)
	}
	for i := range n {
		f(&r.buf[(h+i)&r.mask])
	}
	// Freed only after the batch: f reads the slots in place.
	r.head.Store(h + n)
	return int(n)
}

// pending reports whether values are queued; safe from the consumer only.
func (r *ring[T]) pending() bool { return r.head.Load() != r.tail.Load() }

// waker parks an idle consumer without a busy spin. The consumer announces
// it is going to sleep in an atomic flag and re-checks its rings; a producer
// pays for a channel send only when it sees that flag, so a busy pipeline
// moves values with atomics alone.
type waker struct {
	sleeping atomic.Bool
	ch       chan struct{} // one slot: a wake-up is never lost, never blocks
}

func newWaker() *waker { return &waker{ch: make(chan struct{}, 1)} }

// signal wakes the consumer if it is parked or about to park.
func (w *waker) signal() {
	if w.sleeping.Load() && w.sleeping.CompareAndSwap(true, false) {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// idle parks a consumer that found its rings empty until a producer signals
// or done is closed. It does not spin first: on a two-core box a consumer
// that keeps its core, or yields it in a loop, starves the goroutines it
// waits for; measured, every spin we tried (4–2048 polls or yields) made
// BenchmarkChain slower. A busy pipeline rarely gets here anyway: the
// consumer drains whole batches, and a parked one wakes to a full batch.
func (w *waker) idle(pending func() bool, done <-chan struct{}) {
	w.sleeping.Store(true)
	// Sequentially consistent atomics: either this check sees the value a
	// producer stored, or that producer sees sleeping and sends a token.
	if pending() {
		w.sleeping.Store(false)
		return
	}
	select {
	case <-w.ch:
	case <-done:
		w.sleeping.Store(false)
	}
}
