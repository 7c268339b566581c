package daemon

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/pipeline"
)

// polledGate is a Modbus RTU transmitter (body mode, no ambient register)
// polled at 4 Hz on a lane of role, through the pipeline describe builds;
// it returns the device's emitter and the sink.
func polledGate(t *testing.T, role string, idleC *float64) (drivers.Emit, *recorded) {
	t.Helper()
	cfg := config.Default()
	cfg.Devices = []drivers.Device{{Name: "rs485-ir", Driver: "modbusir", Port: "/dev/ttyUSB1", RateHz: 4, Mode: "body",
		IdleC: idleC, Modbus: &drivers.ModbusOpts{SlaveID: 1}}}
	cfg.Lanes = []config.Lane{{Name: "desk", Role: role, Device: "rs485-ir"}}
	devs, lanes, err := describe(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Opts{Devices: devs, Lanes: lanes, Params: screeningParams(cfg.Screening)})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorded{p: p}
	p.AddSink("rec", 1<<12, rec)
	p.Start(context.Background())
	t.Cleanup(p.Close)
	return p.Producer(0), rec
}

// hold sends v every 250 ms (4 Hz) for d, from mono, and returns the end.
func hold(emit drivers.Emit, mono time.Duration, v float64, d time.Duration) time.Duration {
	for end := mono + d; mono < end; mono += 250 * time.Millisecond {
		r := drivers.NewTemperature(v, math.NaN(), drivers.FlagNoAmbient)
		r.Mono = int64(mono)
		emit(r)
	}
	return mono
}

// One feverish person held 1.5 s in front of a transmitter polled at 4 Hz
// is one flag: it was six flags, six tickets and six cases, one per poll.
func TestPolledTransmitterOneMeasurementPerPerson(t *testing.T) {
	emit, rec := polledGate(t, event.RoleStudent, nil)
	at := hold(emit, 0, 24.0, 3*time.Second) // the wall behind the lane
	at = hold(emit, at, 38.0, 1500*time.Millisecond)
	at = hold(emit, at, 24.1, 3*time.Second)
	hold(emit, at, 36.6, 2*time.Second) // the next person
	hold(emit, at+2*time.Second, 24.0, 2*time.Second)
	got := rec.verdicts()
	if len(got) != 2 || got[0] != "flag/threshold" || got[1] != "pass/" {
		t.Fatalf("verdicts %v, want one flag then one pass", got)
	}
}

// A person standing still at the re-check desk for 6 s, read at 0.1 °C
// resolution, is one measurement, not a stuck sensor (12 equal polls, 3 s,
// made it invalid stuck before).
func TestPolledPersonStandingStillIsNotStuck(t *testing.T) {
	emit, rec := polledGate(t, event.RoleRecheck, nil)
	at := hold(emit, 0, 24.0, 3*time.Second)
	at = hold(emit, at, 37.0, 6*time.Second)
	hold(emit, at, 24.0, 2*time.Second)
	if got := rec.verdicts(); len(got) != 1 || got[0] != "pass/" {
		t.Fatalf("verdicts %v, want one pass", got)
	}
}

// A transmitter that reads a fixed value with nobody there (devices[].idle_c)
// measures presence against it from the first poll: a person already
// standing there at start is not taken for the idle value.
func TestPolledIdleValueConfigured(t *testing.T) {
	idle := 0.0
	emit, rec := polledGate(t, event.RoleStudent, &idle)
	at := hold(emit, 0, 37.8, 2*time.Second)
	hold(emit, at, 0, 2*time.Second)
	if got := rec.verdicts(); len(got) != 1 || got[0] != "flag/threshold" {
		t.Fatalf("verdicts %v, want one flag", got)
	}
}

// recorded keeps what reached its sink; verdicts closes the pipeline first,
// which drains every ring.
type recorded struct {
	p  *pipeline.Pipeline
	ms []pipeline.Measurement
}

func (r *recorded) Consume(m *pipeline.Measurement) { r.ms = append(r.ms, *m) }

func (r *recorded) verdicts() []string {
	r.p.Close()
	var out []string
	for _, m := range r.ms {
		out = append(out, m.Verdict.String()+"/"+m.Reason.String())
	}
	return out
}
