package sim

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatescreen/gatescreen/event"
)

// Protocols a simulated device can speak; each is also the name of the real
// driver that reads it.
const (
	ProtocolGYMCU    = "gymcu90614"
	ProtocolLine     = "lineproto"
	ProtocolBadge    = "badge"
	ProtocolMLX90614 = "mlx90614"
	ProtocolMLX90640 = "mlx90640"
	ProtocolAMG8833  = "amg8833"
)

// Scenario is a simulated gate: its devices and the people who pass.
type Scenario struct {
	// Seed makes every person, noise sample and garbage byte reproducible.
	Seed uint64 `yaml:"seed"`
	// Duration ends the arrivals (devices keep streaming their background
	// until the gate is closed); 0 means people arrive forever.
	Duration time.Duration `yaml:"duration"`
	// Roster is the card UIDs badge swipes are drawn from.
	Roster  []string     `yaml:"roster"`
	Devices []DeviceSpec `yaml:"devices"`
}

// DeviceSpec is one simulated device. Zero values mean the defaults given.
type DeviceSpec struct {
	Name string `yaml:"name"`
	// Protocol is gymcu90614, lineproto, badge, mlx90614, or one of the
	// thermal arrays mlx90640 and amg8833.
	Protocol string `yaml:"protocol"`
	// Lane is the lane the device stands on; a badge reader swipes for the
	// people of the thermometer on its lane.
	Lane string `yaml:"lane"`

	// ArrivalsPerMin is the mean arrival rate of people (thermometers).
	ArrivalsPerMin float64 `yaml:"arrivals_per_min"`
	// FeverShare is the share of people with a body temperature of
	// 37.4–39.0 °C.
	FeverShare float64 `yaml:"fever_share"`
	// ColdShare is the share of people whose forehead reads 33–35 °C.
	ColdShare float64 `yaml:"cold_share"`
	// AmbientC is the air temperature at the device; default 22.
	AmbientC *float64 `yaml:"ambient_c"`
	// SkinOffsetC is body minus forehead temperature; default 0.9. Skin-mode
	// device configs carry it as their offset.
	SkinOffsetC float64 `yaml:"skin_offset_c"`
	// DwellMin and DwellMax bound how long a person stands in front of a
	// continuous sensor; default 1s and 2s.
	DwellMin time.Duration `yaml:"dwell_min"`
	DwellMax time.Duration `yaml:"dwell_max"`

	// Baud is put in the device config (serial); default 9600.
	Baud int `yaml:"baud"`
	// RateHz is how often a GY-MCU90614 streams frames (default 9) and how
	// often the daemon should poll an MLX90614 (default 8).
	RateHz float64 `yaml:"rate_hz"`
	// Query starts a GY-MCU90614 in query mode and configures its driver to
	// poll; the module switches modes on the host's commands either way.
	Query bool `yaml:"query"`
	// Address is the MLX90614 7-bit address; default 0x5A.
	Address uint16 `yaml:"address"`

	// LineFormat is a text/template over LineData (see DefaultLineFormat),
	// without the terminator; LineEnd terminates it, default "\r\n".
	LineFormat string `yaml:"line_format"`
	LineEnd    string `yaml:"line_end"`
	// LinePattern is the regular expression the lineproto driver is
	// configured with; required with a custom LineFormat.
	LinePattern string `yaml:"line_pattern"`
	// LineUnit is the unit of the line's temperature, "C" or "F", for the
	// driver configuration; default "C".
	LineUnit string `yaml:"line_unit"`

	// SwipeShare is the share of people who swipe a card (badge devices).
	SwipeShare float64 `yaml:"swipe_share"`

	// Garbage injects random bytes (serial) or bad PECs (I²C).
	Garbage *Garbage `yaml:"garbage"`
	// Unplug disconnects the device at the given times.
	Unplug []Unplug `yaml:"unplug"`
}

// Garbage is a burst of Bytes random bytes every Every. On an MLX90614 it is
// Bytes reads answered with a wrong PEC.
type Garbage struct {
	Every time.Duration `yaml:"every"`
	Bytes int           `yaml:"bytes"`
}

// Unplug disconnects a device At after the start for For; a serial device
// comes back on a new pseudo-terminal path.
type Unplug struct {
	At  time.Duration `yaml:"at"`
	For time.Duration `yaml:"for"`
}

//go:embed scenarios/demo.yaml
var demoYAML []byte

// DefaultScenario returns the embedded demo scenario: a morning gate with
// a GY-MCU90614 and a badge reader on each of two student lanes, a
// walk-through gate on the staff lane and an MLX90614 at the visitor desk.
func DefaultScenario() *Scenario {
	sc, err := ParseScenario("scenarios/demo.yaml", demoYAML)
	if err != nil {
		panic(fmt.Sprintf("sim: embedded demo scenario: %v", err)) // caught by TestDefaultScenario
	}
	return sc
}

// LoadScenario reads and validates a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sim: scenario: %w", err)
	}
	return ParseScenario(path, data)
}

// ParseScenario decodes a scenario strictly (unknown fields are errors) and
// validates it; name is used in error messages.
func ParseScenario(name string, data []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("sim: scenario %s: empty file", name)
		}
		return nil, fmt.Errorf("sim: scenario %s: %w", name, err)
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("sim: scenario %s: %w", name, err)
	}
	return &sc, nil
}

// deviceName keeps names usable in i2creg bus names and logs.
var deviceName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Validate checks the scenario and returns every problem found, each naming
// its field, e.g. `devices[1].fever_share: 1.5 not in 0–1`.
func (sc *Scenario) Validate() error {
	var p problems
	if sc.Duration < 0 {
		p.bad("duration", sc.Duration, "is negative")
	}
	for i, uid := range sc.Roster {
		if uid == "" || strings.ContainsAny(uid, "\r\n") {
			p.bad(fmt.Sprintf("roster[%d]", i), fmt.Sprintf("%q", uid), "is not a card UID")
		}
	}
	if len(sc.Devices) == 0 {
		p.bad("devices", "[]", "is empty")
	}
	seen := seenDevices{names: map[string]bool{}, thermometers: map[string]string{}, badges: map[string]string{}}
	for i := range sc.Devices {
		d := &sc.Devices[i]
		f := func(field string) string { return fmt.Sprintf("devices[%d].%s", i, field) }
		seen.check(&p, f, d, len(sc.Roster) > 0)
		checkRanges(&p, f, d)
		checkLine(&p, f, d)
		checkFaults(&p, f, d)
	}
	for lane, b := range seen.badges {
		if _, ok := seen.thermometers[lane]; !ok && lane != "" {
			p.errs = append(p.errs, fmt.Errorf("devices: badge reader %s: lane %s has no thermometer", b, lane))
		}
	}
	return errors.Join(p.errs...)
}

// problems collects Validate's findings.
type problems struct{ errs []error }

func (p *problems) bad(field string, v any, msg string) {
	p.errs = append(p.errs, fmt.Errorf("%s: %v %s", field, v, msg))
}

// seenDevices is what Validate has met so far: device names, and each
// lane's thermometer and badge reader.
type seenDevices struct {
	names                map[string]bool
	thermometers, badges map[string]string // lane → device
}

// check validates d's name, lane and protocol against the devices before it;
// f names a field of d.
func (s *seenDevices) check(p *problems, f func(string) string, d *DeviceSpec, haveRoster bool) {
	if !deviceName.MatchString(d.Name) {
		p.bad(f("name"), fmt.Sprintf("%q", d.Name), "must be letters, digits, '.', '_' or '-'")
	} else if s.names[d.Name] {
		p.bad(f("name"), d.Name, "is used twice")
	}
	s.names[d.Name] = true
	if d.Lane == "" {
		p.bad(f("lane"), `""`, "is required")
	}
	switch d.Protocol {
	case ProtocolGYMCU, ProtocolLine, ProtocolMLX90614, ProtocolMLX90640, ProtocolAMG8833:
		if other, dup := s.thermometers[d.Lane]; dup && d.Lane != "" {
			p.bad(f("lane"), d.Lane, "already has the thermometer "+other)
		}
		s.thermometers[d.Lane] = d.Name
		if d.ArrivalsPerMin <= 0 {
			p.bad(f("arrivals_per_min"), d.ArrivalsPerMin, "must be > 0")
		}
	case ProtocolBadge:
		if other, dup := s.badges[d.Lane]; dup && d.Lane != "" {
			p.bad(f("lane"), d.Lane, "already has the badge reader "+other)
		}
		s.badges[d.Lane] = d.Name
		if !haveRoster {
			p.bad(f("protocol"), d.Protocol, "needs a roster of card UIDs")
		}
	default:
		p.bad(f("protocol"), fmt.Sprintf("%q", d.Protocol), "unknown (want gymcu90614, lineproto, badge, mlx90614, mlx90640 or amg8833)")
	}
}

// checkRanges validates d's numeric fields.
func checkRanges(p *problems, f func(string) string, d *DeviceSpec) {
	for field, v := range map[string]float64{"fever_share": d.FeverShare, "cold_share": d.ColdShare, "swipe_share": d.SwipeShare} {
		if v < 0 || v > 1 {
			p.bad(f(field), v, "not in 0–1")
		}
	}
	if d.AmbientC != nil && (*d.AmbientC < -40 || *d.AmbientC > 60) {
		p.bad(f("ambient_c"), *d.AmbientC, "not in -40–60 °C")
	}
	if d.SkinOffsetC < 0 || d.SkinOffsetC > 5 {
		p.bad(f("skin_offset_c"), d.SkinOffsetC, "not in 0–5 °C")
	}
	if d.DwellMin < 0 || d.DwellMax < 0 || (d.DwellMax > 0 && d.DwellMax < d.dwellMin()) {
		p.bad(f("dwell_max"), d.DwellMax, "must be ≥ dwell_min and both ≥ 0")
	}
	if d.Baud < 0 {
		p.bad(f("baud"), d.Baud, "is negative")
	}
	if d.RateHz < 0 || d.RateHz > 100 {
		p.bad(f("rate_hz"), d.RateHz, "not in 0–100")
	}
	if d.Address > 0x7f {
		p.bad(f("address"), fmt.Sprintf("0x%x", d.Address), "is not a 7-bit address")
	}
}

// checkLine validates the line format, pattern, end and unit of d.
func checkLine(p *problems, f func(string) string, d *DeviceSpec) {
	if d.LineFormat != "" {
		if _, err := NewLineFormat(d.LineFormat, d.LineEnd); err != nil {
			p.bad(f("line_format"), fmt.Sprintf("%q", d.LineFormat), err.Error())
		}
		if d.LinePattern == "" {
			p.bad(f("line_pattern"), `""`, "is required with a custom line_format")
		}
	}
	if d.LinePattern != "" {
		if _, err := regexp.Compile(d.LinePattern); err != nil {
			p.bad(f("line_pattern"), fmt.Sprintf("%q", d.LinePattern), err.Error())
		}
	}
	switch d.LineEnd {
	case "", "\n", "\r\n", "\r":
	default:
		p.bad(f("line_end"), fmt.Sprintf("%q", d.LineEnd), `must be "\n", "\r\n" or "\r"`)
	}
	switch d.LineUnit {
	case "", "C", "F":
	default:
		p.bad(f("line_unit"), d.LineUnit, `must be "C" or "F"`)
	}
}

// checkFaults validates the garbage and unplug faults d injects.
func checkFaults(p *problems, f func(string) string, d *DeviceSpec) {
	if g := d.Garbage; g != nil && (g.Every <= 0 || g.Bytes <= 0) {
		p.bad(f("garbage"), fmt.Sprintf("every %v, bytes %d", g.Every, g.Bytes), "needs every > 0 and bytes > 0")
	}
	for j, u := range d.Unplug {
		if u.At < 0 || u.For <= 0 {
			p.bad(f(fmt.Sprintf("unplug[%d]", j)), fmt.Sprintf("at %v for %v", u.At, u.For), "needs at ≥ 0 and for > 0")
		}
	}
}

// Defaults of DeviceSpec, applied where the zero value stands.
const (
	defaultAmbientC    = 22.0
	defaultSkinOffsetC = 0.9
	defaultDwellMin    = time.Second
	defaultDwellMax    = 2 * time.Second
	defaultBaud        = 9600
	defaultGYMCURateHz = 9
	defaultMLXRateHz   = 8
	defaultMLXAddress  = 0x5a
)

func (d *DeviceSpec) ambient() float64 {
	if d.AmbientC == nil {
		return defaultAmbientC
	}
	return *d.AmbientC
}

func (d *DeviceSpec) skinOffset() float64 { return orDefault(d.SkinOffsetC, defaultSkinOffsetC) }
func (d *DeviceSpec) dwellMin() time.Duration {
	return orDefault(d.DwellMin, defaultDwellMin)
}

func (d *DeviceSpec) dwellMax() time.Duration {
	return max(orDefault(d.DwellMax, defaultDwellMax), d.dwellMin())
}
func (d *DeviceSpec) baud() int          { return orDefault(d.Baud, defaultBaud) }
func (d *DeviceSpec) mlxAddress() uint16 { return orDefault(d.Address, defaultMLXAddress) }

func (d *DeviceSpec) rateHz() float64 {
	switch d.Protocol {
	case ProtocolMLX90614:
		return orDefault(d.RateHz, defaultMLXRateHz)
	case ProtocolMLX90640:
		return orDefault(d.RateHz, 8)
	case ProtocolAMG8833:
		return orDefault(d.RateHz, 10)
	}
	return orDefault(d.RateHz, defaultGYMCURateHz)
}

// continuous reports whether the device streams while a person stands in
// front of it, rather than reporting one value per person.
func (d *DeviceSpec) continuous() bool {
	return d.Protocol == ProtocolGYMCU || d.Protocol == ProtocolMLX90614 || d.array()
}

// array reports whether the device is a thermal array.
func (d *DeviceSpec) array() bool {
	return d.Protocol == ProtocolMLX90640 || d.Protocol == ProtocolAMG8833
}

func (d *DeviceSpec) lineFormat() (*LineFormat, error) {
	return NewLineFormat(orDefault(d.LineFormat, DefaultLineFormat), d.LineEnd)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// device returns the spec named name.
func (sc *Scenario) device(name string) (*DeviceSpec, error) {
	for i := range sc.Devices {
		if sc.Devices[i].Name == name {
			return &sc.Devices[i], nil
		}
	}
	return nil, fmt.Errorf("sim: no device %q in the scenario", name)
}

// LaneSpec is one lane of a scenario as a daemon configuration needs it:
// its name, its role (one of event's Role constants) and the names of its
// thermometer and badge reader.
type LaneSpec struct {
	Name   string
	Role   string
	Device string
	Badge  string
}

// Lanes returns the lanes the scenario's devices stand on, in the order they
// first appear, each with its thermometer and badge reader, for a daemon
// configuration to run the scenario. A lane named staff, visitor or recheck
// has that role; every other lane is a student lane.
func (sc *Scenario) Lanes() []LaneSpec {
	var lanes []LaneSpec
	index := map[string]int{}
	for _, spec := range sc.Devices {
		i, ok := index[spec.Lane]
		if !ok {
			i = len(lanes)
			index[spec.Lane] = i
			lanes = append(lanes, LaneSpec{Name: spec.Lane, Role: laneRole(spec.Lane)})
		}
		if spec.Protocol == ProtocolBadge {
			lanes[i].Badge = spec.Name
		} else {
			lanes[i].Device = spec.Name
		}
	}
	return lanes
}

func laneRole(lane string) string {
	switch lane {
	case event.RoleStaff, event.RoleVisitor, event.RoleRecheck:
		return lane
	}
	return event.RoleStudent
}

// badgeFor returns the badge reader on the lane, or nil.
func (sc *Scenario) badgeFor(lane string) *DeviceSpec {
	for i := range sc.Devices {
		if d := &sc.Devices[i]; d.Protocol == ProtocolBadge && d.Lane == lane {
			return d
		}
	}
	return nil
}
