package storage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/storage"
)

func Example() {
	dir, err := os.MkdirTemp("", "gatescreen-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	s, err := storage.Open(filepath.Join(dir, "events.db"), storage.Opts{
		CommitInterval: 200 * time.Millisecond,
		Logger:         zerolog.Nop(),
		OnHealth:       func(h event.Health) { fmt.Println("health:", h.Reason) },
	})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	// The pipeline: never waits.
	pass, _ := event.New(event.KindReading, event.Reading{Lane: "L1", Verdict: event.VerdictPass})
	_ = s.Append(pass)
	flag, _ := event.New(event.KindReading, event.Reading{Lane: "L1", Verdict: event.VerdictFlag})
	flag.Urgent = true
	seq, _ := s.AppendWait(context.Background(), flag) // committed at once
	fmt.Println("flag durable as seq", seq)

	// The uplink: drain the priority queue first, ack after PUBACK.
	<-s.Notify()
	prio, _ := s.Pending(storage.Priority, 0, 100)
	bulk, _ := s.Pending(storage.Bulk, 0, 100)
	fmt.Println("priority", len(prio), "bulk", len(bulk))
	_ = s.Ack(prio[0].Seq, bulk[0].Seq)
	fmt.Println(s.OutboxLen())
	// Output:
	// flag durable as seq 2
	// priority 1 bulk 1
	// 0 0
}
