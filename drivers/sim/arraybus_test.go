package sim_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c/i2creg"

	"github.com/gatescreen/gatescreen/drivers"
	_ "github.com/gatescreen/gatescreen/drivers/all"
	"github.com/gatescreen/gatescreen/drivers/sim"
)

// The real array drivers, through the registry and a bus opened by name as
// the daemon does, measure each person who walks up to the simulated
// sensors once, at their forehead temperature.
func TestArraysMeasureEachPersonOnce(t *testing.T) {
	sc, err := sim.ParseScenario(t.Name(), []byte(`
seed: 7
devices:
  - {name: amg, protocol: amg8833, lane: a1, arrivals_per_min: 40, fever_share: 0.5, dwell_min: 1200ms, dwell_max: 1500ms}
  - {name: mlx, protocol: mlx90640, lane: a2, arrivals_per_min: 40, fever_share: 0.5, dwell_min: 1200ms, dwell_max: 1500ms}
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
		drv, _ := drivers.Lookup(dev.Driver)
		if errs := drv.Validate(dev); len(errs) > 0 {
			t.Fatalf("%s: the driver rejects the sim's config: %v", dev.Name, errs)
		}
		bus, err := i2creg.Open(dev.Bus)
		if err != nil {
			t.Fatal(err)
		}
		src, err := drv.New(dev, drivers.Conn{Bus: bus})
		if err != nil {
			t.Fatalf("%s: %v", dev.Name, err)
		}
		wg.Go(func() {
			err := src.Run(ctx, func(r drivers.Reading) {
				mu.Lock()
				readings[dev.Name] = append(readings[dev.Name], r)
				mu.Unlock()
			})
			if err != nil {
				t.Errorf("%s: Run: %v", dev.Name, err)
			}
		})
	}
	want := map[string]int{"amg": 2, "mlx": 2}
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
	// The last person stands, leaves, and is decided a gap later.
	time.Sleep(2500 * time.Millisecond)
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for _, dev := range []string{"amg", "mlx"} {
		var mine []sim.Person
		for _, p := range people {
			if p.Device == dev {
				mine = append(mine, p)
			}
		}
		rs := readings[dev]
		if len(rs) < len(mine) {
			t.Fatalf("%s: %d readings %+v for %d people", dev, len(rs), rs, len(mine))
		}
		for i, p := range mine {
			r := rs[i]
			// The AMG8833 reports 0.25 °C steps; both add 0.1 °C of noise.
			if r.Retake != drivers.RetakeNone || r.Flags.Invalid() || math.Abs(r.ObjectC-p.SkinC) > 0.3 {
				t.Errorf("%s person %d (forehead %.2f °C): reading %+v", dev, p.Seq, p.SkinC, r)
			}
		}
	}
}
