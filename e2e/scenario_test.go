//go:build e2e

package e2e

import (
	"testing"

	"github.com/gatescreen/gatescreen/drivers/sim"
)

// cards are the roster's badge UIDs.
const cards = `[04E2E00001, 04E2E00002, 04E2E00003, 04E2E00004, 04E2E00005, 04E2E00006, 04E2E00007, 04E2E00008, 04E2E00009, 04E2E0000A]`

// busyGate is the load of the power-cut and outage tests: every lane at
// the highest arrival rate its device allows (a person at most every
// ~0.8 s on a walk-through gate, ~1.7 s on a continuous sensor), badges on
// the continuous lanes, a few fevers so cases are opened.
const busyGate = `
seed: 909
duration: 0s
roster: ` + cards + `
devices:
  - {name: lane1-ir, protocol: gymcu90614, lane: lane-1, arrivals_per_min: 60, fever_share: 0.05, cold_share: 0.05, dwell_min: 600ms, dwell_max: 900ms, ambient_c: 21.5}
  - {name: lane1-badge, protocol: badge, lane: lane-1, swipe_share: 0.9}
  - {name: lane2-ir, protocol: gymcu90614, lane: lane-2, arrivals_per_min: 60, fever_share: 0.05, dwell_min: 600ms, dwell_max: 900ms, ambient_c: 21.5, query: true}
  - {name: lane2-badge, protocol: badge, lane: lane-2, swipe_share: 0.9}
  - {name: lane3-gate, protocol: lineproto, lane: lane-3, arrivals_per_min: 90, fever_share: 0.03, ambient_c: 21.5}
  - {name: lane4-gate, protocol: lineproto, lane: lane-4, arrivals_per_min: 90, fever_share: 0.03, ambient_c: 21.5}
  - {name: staff-gate, protocol: lineproto, lane: staff, arrivals_per_min: 90, fever_share: 0.03, ambient_c: 21.5}
`

func scenario(t testing.TB, yaml string) *sim.Scenario {
	t.Helper()
	sc, err := sim.ParseScenario(t.Name(), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
