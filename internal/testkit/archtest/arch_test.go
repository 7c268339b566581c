package archtest

import (
	"strings"
	"testing"
)

// Package patterns are paths inside the module: "storage" is that package,
// "drivers/..." is drivers and every package below it, "..." is the whole
// module.
var (
	protocols = []string{
		"drivers/amg8833", "drivers/badge", "drivers/gymcu90614", "drivers/lineproto",
		"drivers/mlx90614", "drivers/mlx90640", "drivers/modbusir",
	}
	// devices is the device layer; its tests stay inside it.
	devices = []string{"drivers/...", "event"}
	// components are everything the composition root wires together.
	components = []string{
		"event", "drivers/...", "pipeline", "lamps", "screen", "storage", "sync/...",
		"internal/metrics", "internal/school", "internal/schoolday", "internal/office",
		"internal/logging", "internal/sdnotify", "internal/broker",
	}
	// anything is for tests downstream of the devices: they build real
	// fixtures (a store, a pipeline, a configuration) from any package, and
	// the compiler already refuses a cycle.
	anything = []string{"..."}
)

// rules is docs/ARCHITECTURE.md's "what it may import", one row per package
// or group; the first row matching a package applies. imports holds what
// its non-test files may import; tests what its _test.go files may import
// besides those and internal/testkit/..., which every test may use and no
// production file outside internal/testkit may.
var rules = []rule{
	{pkgs: of("event"), imports: nil, tests: nil},
	{pkgs: of("sync/clock", "drivers/sim/ptyport", "internal/logging", "internal/sdnotify", "internal/broker"), imports: nil, tests: nil},

	{pkgs: of("drivers"), imports: of("event"), tests: devices},
	{pkgs: protocols, imports: of("drivers", "drivers/thermal", "drivers/lineproto"), tests: devices},
	{pkgs: of("drivers/thermal"), imports: of("drivers"), tests: devices},
	{pkgs: of("drivers/runner"), imports: of("drivers", "event"), tests: devices},
	{pkgs: of("drivers/sim"), imports: join(of("drivers", "drivers/sim/ptyport", "event"), protocols), tests: devices},
	{pkgs: of("drivers/all"), imports: protocols, tests: devices},

	{pkgs: of("pipeline"), imports: of("drivers", "event"), tests: anything},
	{pkgs: of("lamps"), imports: of("pipeline", "event", "drivers"), tests: anything},
	{pkgs: of("screen"), imports: of("pipeline", "event", "storage", "drivers"), tests: anything},
	{pkgs: of("storage"), imports: of("event"), tests: anything},
	{pkgs: of("sync/uplink"), imports: of("event"), tests: anything},
	{pkgs: of("internal/metrics"), imports: of("event", "pipeline"), tests: anything},

	{pkgs: of("internal/school"), imports: of("event"), tests: anything},
	{pkgs: of("internal/office"), imports: of("event", "internal/school", "storage", "sync/uplink"), tests: anything},
	{pkgs: of("internal/schoolday"), imports: components, tests: anything},

	// Only the composition root (cmd/gatescreen, internal/daemon,
	// internal/demo) imports the configuration; the configuration may
	// import the components whose options it fills. The local API's
	// handlers take what the daemon gives them, never the file.
	{pkgs: of("internal/config"), imports: components, tests: anything},
	{pkgs: of("internal/localapi"), imports: components, tests: anything},
	{pkgs: of("internal/daemon"), imports: join(components, of("internal/config", "internal/localapi")), tests: anything},
	{pkgs: of("internal/demo"), imports: join(components, of("internal/config", "internal/localapi", "internal/daemon")), tests: anything},
	{pkgs: of("cmd/gatescreen"), imports: join(components, of("internal/config", "internal/localapi", "internal/daemon", "internal/demo")), tests: anything},

	// The district's service (a second binary): it reads the box's wire
	// contract from the schemas, never the box's packages, and the box
	// never imports it.
	{pkgs: of("internal/district/schema", "internal/district/store", "internal/district/schedule"), imports: nil, tests: anything},
	{pkgs: of("internal/district/ingest"), imports: of("internal/district/schema", "internal/district/store"), tests: anything},
	// Simulated boxes: the contract's payloads (simbox), and many of them against a broker (loadgen).
	{pkgs: of("internal/district/simbox"), imports: of("internal/district/store"), tests: anything},
	{pkgs: of("internal/district/loadgen"), imports: of("internal/district/simbox", "internal/district/store"), tests: anything},
	{pkgs: of("internal/district/alert", "internal/district/report"), imports: of("internal/district/schedule", "internal/district/store"), tests: anything},
	{pkgs: of("internal/district/web"), imports: of("internal/district/report", "internal/district/schedule", "internal/district/store"), tests: anything},
	// The demo runs the district's parts around the embedded broker the box's demo uses too.
	{pkgs: of("internal/district/demo"), imports: of("internal/broker", "internal/district/...", "internal/logging"), tests: anything},
	{pkgs: of("cmd/gatescreen-district"), imports: of("internal/district/...", "internal/logging"), tests: anything},

	{pkgs: of(testkit), imports: of(testkit, "drivers", "drivers/runner", "drivers/sim/ptyport", "event"), tests: anything},
	// The suites drive the built binary; only their doc.go is untagged.
	{pkgs: of("e2e", "bench"), imports: nil, tests: anything},
}

func of(patterns ...string) []string { return patterns }

func join(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

func TestImportsFollowTheArchitecture(t *testing.T) {
	pkgs := loadModule(t)
	requireSeen(t, pkgs)
	if problems := check(pkgs, rules); len(problems) > 0 {
		t.Errorf("imports that break docs/ARCHITECTURE.md (the rules are the table in internal/testkit/archtest/arch_test.go):\n%s",
			strings.Join(problems, "\n"))
	}
}

// requireSeen keeps the test from passing on an empty or half-read module:
// packages and edges that exist on every tree must be there.
func requireSeen(t *testing.T, pkgs []pkg) {
	t.Helper()
	seen := map[string]pkg{}
	for _, p := range pkgs {
		seen[p.path] = p
	}
	for _, want := range []string{"event", "drivers", "drivers/runner", "pipeline", "storage", "sync/uplink",
		"internal/config", "internal/daemon", "cmd/gatescreen", "internal/testkit/archtest"} {
		if _, ok := seen[want]; !ok {
			t.Fatalf("go list did not report package %s (saw %d packages)", want, len(pkgs))
		}
	}
	for _, want := range []struct{ from, to string }{{"storage", "event"}, {"pipeline", "event"}, {"cmd/gatescreen", "internal/daemon"}} {
		if !seen[want.from].importsPkg(want.to, false) {
			t.Fatalf("no import %s → %s read from the files of %s", want.from, want.to, want.from)
		}
	}
}

// TestRulesFenceTestkit checks the table itself: only internal/testkit's
// own row may let production code import test support.
func TestRulesFenceTestkit(t *testing.T) {
	for _, r := range rules {
		if matchAny(r.pkgs, "internal/testkit/x") {
			continue
		}
		if matchAny(r.imports, "internal/testkit/x") {
			t.Errorf("the row for %v lets production code import internal/testkit", r.pkgs)
		}
	}
}
