package demo

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/internal/broker"
	"github.com/gatescreen/gatescreen/internal/district/schema"
)

// The demo's 漏报 shows on any day: a Saturday (no report owed by the
// district's rule) is a school day in the demo.
func TestDemoTodayIsASchoolDay(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	for _, now := range []time.Time{
		time.Date(2026, 12, 5, 10, 0, 0, 0, loc), // a Saturday
		time.Date(2026, 12, 6, 15, 0, 0, 0, loc), // a Sunday
		time.Date(2026, 12, 7, 9, 0, 0, 0, loc),  // a Monday
	} {
		s, dl, err := demoSchedule(now, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if day := s.Day(now); !s.SchoolDay(day) {
			t.Errorf("%s (%s) is not a school day in the demo: hd04's 漏报 would not show", day, now.Weekday())
		}
		if day, _ := s.LastDue(now.Add(3 * time.Minute)); day != s.Day(now) {
			t.Errorf("report day after the demo's deadline %s: %s, want today", dl, day)
		}
	}
}

// Every payload the demo's boxes publish (their last wills too) passes the
// contract's published schemas, the ones the ingester validates against
// (it runs the demo's script: about 40 s).
func TestDemoPayloadsPassTheSchemas(t *testing.T) {
	v, err := schema.New()
	if err != nil {
		t.Fatal(err)
	}
	mq, err := broker.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mq.Close()
	var (
		mu  sync.Mutex
		n   = map[string]int{}
		bad []string
		// scripted: the script's last step was seen; finished: and a
		// reading after it.
		scripted, finished bool
		done               = make(chan struct{})
	)
	if err := mq.Subscribe("gatescreen/v1/#", 1, func(topic string, payload []byte) {
		kind := topic[strings.LastIndex(topic, "/")+1:]
		mu.Lock()
		defer mu.Unlock()
		n[kind]++
		if err := v.Validate(kind, payload); err != nil {
			bad = append(bad, topic+": "+err.Error()+": "+string(payload))
		}
		switch {
		case strings.Contains(string(payload), "parent_fever_clinic"):
			scripted = true
		case scripted && kind == "readings" && !finished:
			// A latecomer's reading after the script: every kind was sent.
			finished = true
			close(done)
		}
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	s, _, err := demoSchedule(now, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() { errs <- simulate(ctx, mq.URL(), s, now, zerolog.Nop()) }()
	select {
	case <-done:
	case err := <-errs:
		t.Fatalf("the demo's boxes stopped: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatal("the demo's script did not finish within 90 s")
	}
	cancel()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, kind := range schema.Topics {
		if n[kind] == 0 {
			t.Errorf("no %s payload published (%v)", kind, n)
		}
	}
	for _, b := range bad {
		t.Error(b)
	}
}
