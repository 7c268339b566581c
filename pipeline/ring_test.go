package pipeline

import "testing"

func TestRingOrderFullAndBatches(t *testing.T) {
	w := newWaker()
	r := newRing[int]("t", 5, w) // rounds up to 8
	if len(r.buf) != 8 {
		t.Fatalf("size %d, want 8", len(r.buf))
	}
	for i := range 8 {
		if !r.push(&i) {
			t.Fatalf("push %d refused", i)
		}
	}
	nine := 9
	if r.push(&nine) || r.dropped.Load() != 1 {
		t.Fatalf("a full ring took a value or did not count the drop (%d)", r.dropped.Load())
	}
	var got []int
	if n := r.consume(3, func(v *int) { got = append(got, *v) }); n != 3 {
		t.Fatalf("consumed %d, want 3", n)
	}
	r.consume(100, func(v *int) { got = append(got, *v) })
	for i, v := range got {
		if v != i {
			t.Fatalf("order %v", got)
		}
	}
	if r.pending() {
		t.Error("pending after draining")
	}
	// Batched values stay invisible until commit, or until commitEvery of
	// them are held back.
	r = newRing[int]("batched", 8, w)
	for i := range 3 {
		r.pushBatched(&i)
	}
	if r.pending() {
		t.Error("batched values visible before commit")
	}
	r.commit()
	if n := r.consume(100, func(*int) {}); n != 3 {
		t.Errorf("after commit consumed %d, want 3", n)
	}
	big := newRing[int]("big", 4*commitEvery, w)
	for i := range commitEvery {
		big.pushBatched(&i)
	}
	if n := big.consume(1000, func(*int) {}); n != commitEvery {
		t.Errorf("without commit consumed %d, want %d", n, commitEvery)
	}
}

func TestWakerWakesParkedConsumer(t *testing.T) {
	w := newWaker()
	r := newRing[int]("t", 4, w)
	done := make(chan struct{})
	woke := make(chan int)
	go func() {
		for {
			var v int
			if r.consume(1, func(p *int) { v = *p }) > 0 {
				woke <- v
				return
			}
			w.idle(r.pending, done)
		}
	}()
	for !w.sleeping.Load() { // wait until it parked
	}
	seven := 7
	r.push(&seven)
	if v := <-woke; v != 7 {
		t.Errorf("got %d", v)
	}
	close(done)
}
