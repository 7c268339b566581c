package sim

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

func TestDefaultScenario(t *testing.T) {
	sc := DefaultScenario()
	if sc.Duration != 0 {
		t.Errorf("demo duration = %v, want 0 (forever)", sc.Duration)
	}
	protocols := map[string]bool{}
	for _, d := range sc.Devices {
		protocols[d.Protocol] = true
	}
	for _, p := range []string{ProtocolGYMCU, ProtocolLine, ProtocolBadge, ProtocolMLX90614} {
		if !protocols[p] {
			t.Errorf("demo has no %s device", p)
		}
	}
}

func TestLoadShippedScenarios(t *testing.T) {
	files, err := filepath.Glob("../../testdata/scenarios/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("scenario files: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := LoadScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(sc.Devices) == 0 || sc.Seed == 0 {
				t.Fatalf("loaded %+v", sc)
			}
		})
	}
}

func TestLoadBadScenarios(t *testing.T) {
	tests := []struct {
		file string
		want []string // every substring must appear in the error
	}{
		{"unknown-field.bad.yaml", []string{"testdata/unknown-field.bad.yaml", "fever_rate"}},
		{"bad-duration.bad.yaml", []string{"testdata/bad-duration.bad.yaml", "line 2", "time.Duration"}},
		{"bad-values.bad.yaml", []string{
			"testdata/bad-values.bad.yaml",
			`devices[0].protocol: "gymcu9061" unknown`,
			"devices[1].arrivals_per_min: 0 must be > 0",
			"devices[1].fever_share: 1.5 not in 0–1",
			"devices[1].line_format",
			"devices[1].line_pattern",
			"devices[2].protocol: badge needs a roster",
			"lane lane-3 has no thermometer",
		}},
		{"missing.yaml", []string{"testdata/missing.yaml", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := LoadScenario(filepath.Join("testdata", tt.file))
			if err == nil {
				t.Fatal("loaded a bad scenario")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestParseScenarioEmpty(t *testing.T) {
	_, err := ParseScenario("empty.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "empty.yaml: empty file") {
		t.Fatalf("err = %v", err)
	}
}

const peopleYAML = `
seed: 7
roster: [A1, B2, C3]
devices:
  - {name: ir, protocol: gymcu90614, lane: l1, arrivals_per_min: 30, fever_share: 0.1, cold_share: 0.2}
  - {name: badge, protocol: badge, lane: l1, swipe_share: 0.5}
  - {name: gate, protocol: lineproto, lane: l2, arrivals_per_min: 60, fever_share: 0.1}
`

func mustParse(t *testing.T, yaml string) *Scenario {
	t.Helper()
	sc, err := ParseScenario(t.Name(), []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestPeopleDeterministic(t *testing.T) {
	a, err := mustParse(t, peopleYAML).People("ir", 50)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := mustParse(t, peopleYAML).People("ir", 50)
	if len(a) != 50 {
		t.Fatalf("got %d people", len(a))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("person %d differs with the same seed:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	other := mustParse(t, strings.Replace(peopleYAML, "seed: 7", "seed: 8", 1))
	c, _ := other.People("ir", 50)
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same == len(a) {
		t.Fatal("a different seed gave the same people")
	}
	// Another device's stream does not depend on this one's.
	g1, _ := mustParse(t, peopleYAML).People("gate", 5)
	sc := mustParse(t, peopleYAML)
	sc.Devices[0].ArrivalsPerMin = 1
	g2, _ := sc.People("gate", 5)
	for i := range g1 {
		if g1[i] != g2[i] {
			t.Fatalf("changing device ir changed gate's person %d", i)
		}
	}
}

func TestPeopleFollowTheScenario(t *testing.T) {
	sc := mustParse(t, peopleYAML)
	const n = 4000
	people, err := sc.People("ir", n)
	if err != nil {
		t.Fatal(err)
	}
	var fevers, colds, cards int
	var prevEnd time.Duration
	for i, p := range people {
		if p.Seq != i+1 || p.Device != "ir" || p.Lane != "l1" {
			t.Fatalf("person %d: %+v", i, p)
		}
		if p.Fever {
			fevers++
			if p.BodyC < 37.4 || p.BodyC > 39.0 {
				t.Fatalf("fever body %v", p.BodyC)
			}
		} else if p.BodyC < 36.1 || p.BodyC > 37.1 {
			t.Fatalf("normal body %v", p.BodyC)
		}
		if p.Cold {
			colds++
			if p.SkinC < 33 || p.SkinC > 35 {
				t.Fatalf("cold skin %v", p.SkinC)
			}
		} else if d := p.BodyC - p.SkinC; d < 0.89 || d > 0.91 {
			t.Fatalf("skin %v body %v: offset %v, want 0.9", p.SkinC, p.BodyC, d)
		}
		if p.ReportedC != p.SkinC {
			t.Fatalf("skin-mode device reports %v, skin %v", p.ReportedC, p.SkinC)
		}
		if p.Dwell < time.Second || p.Dwell > 2*time.Second {
			t.Fatalf("dwell %v", p.Dwell)
		}
		if p.Card != "" {
			cards++
		}
		if p.Offset < prevEnd {
			t.Fatalf("person %d arrives at %v before the one in front left at %v", p.Seq, p.Offset, prevEnd)
		}
		prevEnd = p.Offset + approachTime + p.Dwell + leaveTime
	}
	// Shares within a few standard deviations of the binomial.
	check := func(name string, got int, share float64) {
		t.Helper()
		if f := float64(got) / n; f < share-0.03 || f > share+0.03 {
			t.Errorf("%s share %.3f, want about %.2f", name, f, share)
		}
	}
	check("fever", fevers, 0.1)
	check("cold", colds, 0.2)
	check("swipe", cards, 0.5)
	// 30 per minute on average, slowed a little by people not overlapping.
	if rate := float64(n) / people[n-1].Offset.Minutes(); rate < 15 || rate > 31 {
		t.Errorf("arrival rate %.1f/min, want about 30", rate)
	}

	gate, _ := sc.People("gate", 100)
	for _, p := range gate {
		if p.Dwell != 0 || math.Abs(p.ReportedC-(p.SkinC+0.9)) > 0.001 {
			t.Fatalf("body-mode gate person %+v", p)
		}
		if !p.Cold && p.ReportedC != p.BodyC {
			t.Fatalf("gate reports %v for body %v", p.ReportedC, p.BodyC)
		}
	}
	if _, err := sc.People("badge", 1); err == nil {
		t.Error("People of a badge reader did not fail")
	}
	if _, err := sc.People("nope", 1); err == nil {
		t.Error("People of an unknown device did not fail")
	}
}

func TestPeopleStopAtDuration(t *testing.T) {
	sc := mustParse(t, "duration: 1m\n"+peopleYAML)
	people, _ := sc.People("gate", 1000)
	if len(people) == 0 || len(people) >= 1000 {
		t.Fatalf("got %d people in a minute at 60/min", len(people))
	}
	if last := people[len(people)-1].Offset; last >= time.Minute {
		t.Fatalf("last person at %v, after the duration", last)
	}
}

// Every shipped scenario also starts: its devices get paths and buses.
func TestStartShippedScenarios(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/scenarios/*.yaml")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := LoadScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Start(t.Context(), sc, Opts{})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range g.Devices() {
				if d.Port == "" && d.Bus == "" {
					t.Errorf("%s has neither port nor bus", d.Name)
				}
			}
			if err := g.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A scenario's lanes, for the daemon's configuration: in order of first
// appearance, thermometer and badge reader paired, role from the lane name.
func TestScenarioLanes(t *testing.T) {
	sc := &Scenario{Devices: []DeviceSpec{
		{Name: "gate-1", Protocol: ProtocolLine, Lane: "lane-1"},
		{Name: "staff-ir", Protocol: ProtocolGYMCU, Lane: "staff"},
		{Name: "card-1", Protocol: ProtocolBadge, Lane: "lane-1"},
		{Name: "visitor-ir", Protocol: ProtocolGYMCU, Lane: "visitor"},
		{Name: "recheck-ir", Protocol: ProtocolGYMCU, Lane: "recheck"},
	}}
	want := []LaneSpec{
		{Name: "lane-1", Role: event.RoleStudent, Device: "gate-1", Badge: "card-1"},
		{Name: "staff", Role: event.RoleStaff, Device: "staff-ir"},
		{Name: "visitor", Role: event.RoleVisitor, Device: "visitor-ir"},
		{Name: "recheck", Role: event.RoleRecheck, Device: "recheck-ir"},
	}
	if got := sc.Lanes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Lanes() =\n%+v\nwant\n%+v", got, want)
	}
}
