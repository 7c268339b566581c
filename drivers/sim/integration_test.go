package sim_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"
	"periph.io/x/conn/v3/i2c/i2creg"

	"github.com/gatescreen/gatescreen/drivers"
	_ "github.com/gatescreen/gatescreen/drivers/all"
	"github.com/gatescreen/gatescreen/drivers/sim"
)

// The real drivers, found through the registry and opened as the daemon
// does, read what the simulated gate sends: every person's temperature and
// card arrive as readings.
func TestRealDriversReadTheGate(t *testing.T) {
	sc, err := sim.ParseScenario(t.Name(), []byte(`
seed: 99
roster: [04A1B2C3D4, 04A1B2C3D5]
devices:
  - {name: ir, protocol: gymcu90614, lane: l1, arrivals_per_min: 60, fever_share: 0.5, dwell_min: 1s, dwell_max: 1500ms}
  - {name: badge, protocol: badge, lane: l1, swipe_share: 1}
  - {name: polled, protocol: gymcu90614, lane: l2, arrivals_per_min: 60, fever_share: 0.5, query: true, rate_hz: 10}
  - {name: gate, protocol: lineproto, lane: l3, arrivals_per_min: 200, fever_share: 0.5}
  - {name: mlx, protocol: mlx90614, lane: l4, arrivals_per_min: 60, fever_share: 0.5, rate_hz: 20}
  - {name: amg, protocol: amg8833, lane: l5, arrivals_per_min: 40, fever_share: 0.5, dwell_min: 1200ms, dwell_max: 1500ms}
  - {name: array, protocol: mlx90640, lane: l6, arrivals_per_min: 40, fever_share: 0.5, dwell_min: 1200ms, dwell_max: 1500ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	g, err := sim.Start(ctx, sc, sim.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	var (
		mu       sync.Mutex
		readings = map[string][]drivers.Reading{}
		wg       sync.WaitGroup
	)
	defer wg.Wait()
	defer cancel()
	for _, dev := range g.Devices() {
		drv, ok := drivers.Lookup(dev.Driver)
		if !ok {
			t.Fatalf("no driver %q registered", dev.Driver)
		}
		if errs := drv.Validate(dev); len(errs) > 0 {
			t.Fatalf("%s: the driver rejects the sim's config: %v", dev.Name, errs)
		}
		var conn drivers.Conn
		if dev.Bus != "" {
			bus, err := i2creg.Open(dev.Bus)
			if err != nil {
				t.Fatal(err)
			}
			conn.Bus = bus
		} else {
			port, err := serial.Open(dev.Port, &serial.Mode{BaudRate: dev.Baud})
			if err != nil {
				t.Fatal(err)
			}
			defer port.Close()
			conn.Port = port
		}
		src, err := drv.New(dev, conn)
		if err != nil {
			t.Fatalf("%s: %v", dev.Name, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := src.Run(ctx, func(r drivers.Reading) {
				mu.Lock()
				readings[dev.Name] = append(readings[dev.Name], r)
				mu.Unlock()
			})
			if err != nil && ctx.Err() == nil {
				t.Errorf("%s: Run: %v", dev.Name, err)
			}
		}()
	}

	want := map[string]int{"ir": 2, "polled": 2, "gate": 3, "mlx": 2, "amg": 2, "array": 2}
	var people []sim.Person
	for timeout := time.After(30 * time.Second); len(want) > 0; {
		select {
		case p := <-g.Sent():
			if want[p.Device] > 0 {
				people = append(people, p)
				if want[p.Device]--; want[p.Device] == 0 {
					delete(want, p.Device)
				}
			}
		case <-timeout:
			t.Fatalf("people still expected: %v", want)
		}
	}
	// Let the last plateaus be read, and the arrays' last people leave,
	// before looking.
	time.Sleep(2500 * time.Millisecond)
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for _, p := range people {
		tol, want := 0.031, p.ReportedC
		switch p.Protocol {
		case sim.ProtocolMLX90614:
			tol = 0.041 // the sensor's 0.02 K step
		case sim.ProtocolLine:
			tol = 0.001
			want, _ = strconv.ParseFloat(fmt.Sprintf("%.1f", p.ReportedC), 64) // as the line prints it
		case sim.ProtocolAMG8833, sim.ProtocolMLX90640:
			// 0.1 °C of pixel noise; the AMG8833 reports 0.25 °C steps. The
			// arrays give one reading per person, in order, no retake.
			tol = 0.3
			if rs := readings[p.Device]; len(rs) < p.Seq || rs[p.Seq-1].Retake != drivers.RetakeNone {
				t.Errorf("%s person %d: readings %+v, want one measurement each", p.Device, p.Seq, rs)
			}
		}
		found := false
		for _, r := range readings[p.Device] {
			if !r.Flags.Invalid() && math.Abs(r.ObjectC-want) <= tol {
				found = true
				if p.Protocol == sim.ProtocolLine && (r.Flags&drivers.FlagAlarm != 0) != (want >= sim.AlarmC) {
					t.Errorf("gate line for %.1f °C: flags %b", want, r.Flags)
				}
				break
			}
		}
		if !found {
			t.Errorf("%s: no reading of %.2f °C for person %d among %d readings: %+v", p.Device, want, p.Seq, len(readings[p.Device]), readings[p.Device])
		}
		if p.Device == "ir" {
			swiped := false
			for _, r := range readings["badge"] {
				swiped = swiped || (r.Kind == drivers.KindBadge && string(r.FrameBytes()) == p.Card)
			}
			if p.Card == "" || !swiped {
				t.Errorf("card %q of person %d not read by the badge driver", p.Card, p.Seq)
			}
		}
	}
	for name, rs := range readings {
		for _, r := range rs {
			if r.Flags.Invalid() {
				t.Errorf("%s: invalid reading %+v from a clean scenario", name, r)
				break
			}
		}
	}
}
