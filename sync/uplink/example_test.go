package uplink_test

import (
	"context"
	"os"

	"github.com/rs/zerolog"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/sync/clock"
	"github.com/gatescreen/gatescreen/sync/uplink"
)

// storeOutbox stands for the few lines that adapt the store to Outbox.
type storeOutbox struct{ notify chan struct{} }

func (storeOutbox) Visit(uplink.Queue, uint64, int, func(*event.Event) error) error { return nil }
func (storeOutbox) Ack(...uint64) error                                             { return nil }
func (o storeOutbox) Notify() <-chan struct{}                                       { return o.notify }

// The daemon wires the uplink to the store and the clock.
func Example() {
	log := zerolog.New(os.Stderr)
	clk := clock.New(clock.Opts{Logger: log})
	tlsCfg, err := uplink.TLSConfig("/etc/gatescreen/district-ca.crt", "/etc/gatescreen/box.crt", "/etc/gatescreen/box.key")
	if err != nil {
		log.Fatal().Err(err).Msg("uplink TLS")
	}
	u, err := uplink.New(storeOutbox{notify: make(chan struct{}, 1)}, uplink.Opts{
		Broker:   "ssl://broker.district.example:8883",
		District: "haidian", School: "school-17", Gate: "east", BoxID: "hd17-east",
		BootID: clk.BootID(), Version: "1.0.0",
		TLS:          tlsCfg,
		PseudonymKey: []byte("read from uplink.pseudonym_key_file"),
		Clock:        clk,
		Logger:       log.With().Str("component", "uplink").Logger(),
	})
	if err != nil {
		log.Fatal().Err(err).Msg("uplink")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go clk.Run(ctx)
	go u.Run(ctx)  // returns after publishing the offline status when ctx ends
	_ = u.Status() // for the screen and /metrics
}
