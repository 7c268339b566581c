package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	// The box may lack the tzdata package; a zone the daemon cannot load
	// must not keep the gate from starting.
	_ "time/tzdata"
	"unicode"
	"unicode/utf8"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/lamps"
	"github.com/gatescreen/gatescreen/pipeline"
)

// Limits of the screening threshold: IEC 80601-2-59 asks screening devices
// for an adjustable threshold; outside 34–39 °C it is surely a typo.
const (
	MinThresholdC = 34.0
	MaxThresholdC = 39.0
)

// MaxOffsetC bounds devices[].offset_c to ±MaxOffsetC °C, and so every
// calibration, which must leave the applied offset inside it too.
const MaxOffsetC = 5.0

// Bounds of storage.max_size. bbolt maps the whole file into memory, and a
// 32-bit Raspberry Pi OS cannot map much more than 1 GiB next to everything
// else.
const (
	MinMaxSize   ByteSize = 1 << 20
	MaxMaxSize32 ByteSize = 1 << 30
	MaxMaxSize   ByteSize = 64 << 30 // a large SD card; more is a typo
)

func (c *Config) validate(r *reporter) {
	c.Site.validate(r)
	c.Screening.validate(r)
	devices := validateDevices(r, c.Devices)
	c.validateLanes(r, devices)
	validateOutputs(r, c.Outputs)
	c.Storage.validate(r)
	c.Uplink.validate(r)
	c.Screen.validate(r)
	c.Metrics.validate(r, c.Screen.Listen)
	if !validClock(c.Reports.DailyAt) {
		r.add("reports.daily_at", c.Reports.DailyAt, "is not a local time HH:MM like 18:00")
	}
	c.Calibration.validate(r)
	c.School.validate(r)
}

// topicSafe tells why s cannot be one level of an MQTT topic, or "".
func topicSafe(s string) string {
	if i := strings.IndexFunc(s, func(r rune) bool {
		return r == '/' || r == '+' || r == '#' || unicode.IsSpace(r) || !unicode.IsPrint(r)
	}); i >= 0 {
		return fmt.Sprintf("must not contain %q: it becomes one level of the MQTT topic", []rune(s[i:])[0])
	}
	return ""
}

func (s Site) validate(r *reporter) {
	for _, f := range []struct{ key, value string }{
		{"district", s.District}, {"school", s.School}, {"gate", s.Gate}, {"box_id", s.BoxID},
	} {
		path := "site." + f.key
		switch {
		case f.value == "" && f.key != "box_id":
			r.add(path, nil, "is required: it names the box in the district's topic tree")
		case f.value == "" || f.key == "box_id" && f.value == s.School+"-"+s.Gate:
			// A derived box_id is as good as school and gate, checked here.
		default:
			if why := topicSafe(f.value); why != "" {
				r.add(path, f.value, why)
			}
		}
	}
	switch s.Timezone {
	case "":
		r.add("site.timezone", nil, "is required, e.g. Asia/Shanghai")
	case "Local":
		// The box has no RTC and often no configured zone: reports must not
		// depend on it.
		r.add("site.timezone", s.Timezone, "is not allowed: name the zone, e.g. Asia/Shanghai")
	default:
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			r.add("site.timezone", s.Timezone, "is not a known IANA time zone, e.g. Asia/Shanghai")
		}
	}
}

func (s Screening) validate(r *reporter) {
	const p = "screening."
	t := s.ThresholdC
	switch {
	case !(t >= MinThresholdC && t <= MaxThresholdC):
		r.add(p+"threshold_c", t, fmt.Sprintf("is out of range %.1f–%.1f °C", MinThresholdC, MaxThresholdC))
	case math.Abs(t*10-math.Round(t*10)) > 1e-9:
		r.add(p+"threshold_c", t, "is not on a 0.1 °C step (e.g. 37.3)")
	}
	if !(s.FloorC < s.ThresholdC) {
		r.add(p+"floor_c", s.FloorC, fmt.Sprintf("must be below threshold_c (%s)", formatValue(t)))
	} else if !(s.FloorC >= 30) {
		r.add(p+"floor_c", s.FloorC, "is below 30 °C: a cold or absent reading would pass")
	}
	if !(s.AmbientMinC >= -20 && s.AmbientMinC <= 50) {
		r.add(p+"ambient_min_c", s.AmbientMinC, "is out of range -20–50 °C")
	}
	if !(s.AmbientMaxC >= -20 && s.AmbientMaxC <= 50) {
		r.add(p+"ambient_max_c", s.AmbientMaxC, "is out of range -20–50 °C")
	} else if !(s.AmbientMinC < s.AmbientMaxC) {
		r.add(p+"ambient_max_c", s.AmbientMaxC, fmt.Sprintf("must be above ambient_min_c (%s)", formatValue(s.AmbientMinC)))
	}
	if !(s.Relative.DeltaC > 0 && s.Relative.DeltaC <= 3) {
		r.add(p+"relative.delta_c", s.Relative.DeltaC, "is out of range: above 0 and at most 3 °C")
	}
	intIn(r, p+"relative.window", s.Relative.Window, 3, pipeline.MaxRelativeWindow, "passes")
	durIn(r, p+"badge_window", s.BadgeWindow, time.Millisecond, time.Minute)
	durIn(r, p+"recheck_overdue", s.RecheckOverdue, time.Minute, 24*time.Hour)
	if !(s.Segment.PresenceDeltaC > 0 && s.Segment.PresenceDeltaC <= 10) {
		r.add(p+"segment.presence_delta_c", s.Segment.PresenceDeltaC, "is out of range: above 0 and at most 10 °C")
	}
	durIn(r, p+"segment.min_dwell", s.Segment.MinDwell, time.Millisecond, 10*time.Second)
	intIn(r, p+"segment.stable_window", s.Segment.StableWindow, 1, pipeline.MaxStableWindow, "samples")
	if !(s.Segment.StableSpreadC > 0 && s.Segment.StableSpreadC <= 2) {
		r.add(p+"segment.stable_spread_c", s.Segment.StableSpreadC, "is out of range: above 0 and at most 2 °C")
	}
}

// intIn checks lo ≤ v ≤ hi; unit names what v counts.
func intIn(r *reporter, path string, v, lo, hi int, unit string) {
	if v < lo || v > hi {
		r.add(path, v, fmt.Sprintf("is out of range %d–%d %s", lo, hi, unit))
	}
}

// durIn checks lo ≤ d ≤ hi.
func durIn(r *reporter, path string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		r.add(path, d, fmt.Sprintf("is out of range %v–%v", lo, hi))
	}
}

// positive checks 0 < d ≤ most.
func positive(r *reporter, path string, d, most time.Duration) {
	switch {
	case d <= 0:
		r.add(path, d, "must be a positive duration")
	case d > most:
		r.add(path, d, fmt.Sprintf("is out of range: at most %v", most))
	}
}

// validateDevices checks devices[] and returns them by name.
func validateDevices(r *reporter, devs []drivers.Device) map[string]drivers.Device {
	byName := map[string]drivers.Device{}
	for i, d := range devs {
		p := fmt.Sprintf("devices[%d].", i)
		if d.Name == "" {
			r.add(p+"name", nil, "is required")
		} else if _, dup := byName[d.Name]; dup {
			r.add(p+"name", d.Name, "is used by another device: names must be unique")
		} else {
			byName[d.Name] = d
		}
		if d.Mode != "" && d.Mode != "body" && d.Mode != "skin" {
			r.add(p+"mode", d.Mode, "is not body or skin")
		}
		if !(math.Abs(d.OffsetC) <= MaxOffsetC) {
			r.add(p+"offset_c", d.OffsetC, "is out of range -5–5 °C")
		}
		if d.IdleC != nil && !(*d.IdleC >= -50 && *d.IdleC <= 100) {
			r.add(p+"idle_c", *d.IdleC, "is out of range -50–100 °C")
		}
		if d.Gain != 0 && !(d.Gain >= 0.5 && d.Gain <= 2) {
			r.add(p+"gain", d.Gain, "is out of range 0.5–2 (0 means 1)")
		}
		if !(d.RateHz >= 0 && d.RateHz <= 100) {
			r.add(p+"rate_hz", d.RateHz, "is out of range 0–100 Hz (0 means the driver's default)")
		}
		if d.Driver == "" {
			r.add(p+"driver", nil, "is required; known drivers: "+strings.Join(drivers.Names(), ", "))
			continue
		}
		drv, ok := drivers.Lookup(d.Driver)
		if !ok {
			r.add(p+"driver", d.Driver, "is not a known driver; known drivers: "+strings.Join(drivers.Names(), ", "))
			continue
		}
		validateTransport(r, p, d, drv)
		if drv.Validate != nil {
			for _, fe := range drv.Validate(d) {
				if !r.reported[p+fe.Field] {
					r.add(p+fe.Field, fe.Value, fe.Msg)
				}
			}
		}
	}
	return byName
}

func validateTransport(r *reporter, p string, d drivers.Device, drv drivers.Driver) {
	switch drv.Transport {
	case drivers.Serial:
		if d.Port == "" {
			r.add(p+"port", nil, "is required for serial driver "+drv.Name+", e.g. /dev/ttyUSB0")
		}
		if d.Baud != 0 && !slices.Contains(drv.Bauds, d.Baud) {
			r.add(p+"baud", d.Baud, "is not a supported baud rate"+bauds(drv))
		}
		switch d.Parity {
		case "", "none", "even", "odd":
		default:
			r.add(p+"parity", d.Parity, "is not a parity: want none, even or odd")
		}
		if d.Bus != "" {
			r.add(p+"bus", d.Bus, "is for I²C devices; "+drv.Name+" is serial")
		}
		if d.Address != 0 {
			r.add(p+"address", d.Address, "is for I²C devices; "+drv.Name+" is serial")
		}
	case drivers.I2C:
		if d.Address != 0 && (d.Address < 0x03 || d.Address > 0x77) {
			r.add(p+"address", fmt.Sprintf("%#x", d.Address), "is not a 7-bit I²C address 0x03–0x77")
		}
		if d.Port != "" {
			r.add(p+"port", d.Port, "is for serial devices; "+drv.Name+" is on I²C (set bus)")
		}
		if d.Baud != 0 {
			r.add(p+"baud", d.Baud, "is for serial devices; "+drv.Name+" is on I²C")
		}
		if d.Parity != "" {
			r.add(p+"parity", d.Parity, "is for serial devices; "+drv.Name+" is on I²C")
		}
	}
}

func bauds(drv drivers.Driver) string {
	if len(drv.Bauds) == 0 {
		return ""
	}
	s := make([]string, len(drv.Bauds))
	for i, b := range drv.Bauds {
		s[i] = strconv.Itoa(b)
	}
	return " for " + drv.Name + " (" + strings.Join(s, ", ") + ")"
}

var roles = []string{event.RoleStudent, event.RoleStaff, event.RoleVisitor, event.RoleRecheck, event.RoleCanteen}

func (c *Config) validateLanes(r *reporter, devices map[string]drivers.Device) {
	names, labels := map[string]bool{}, map[string]bool{}
	usedBy := map[string]string{} // device name → lane
	for i, l := range c.Lanes {
		p := fmt.Sprintf("lanes[%d].", i)
		switch {
		case l.Name == "":
			r.add(p+"name", nil, "is required")
		case names[l.Name]:
			r.add(p+"name", l.Name, "is used by another lane: names must be unique")
		}
		names[l.Name] = true
		switch n := utf8.RuneCountInString(l.Label); {
		case n > 32:
			r.add(p+"label", l.Label, "is longer than 32 characters")
		case strings.ContainsFunc(l.Label, unicode.IsControl):
			r.add(p+"label", l.Label, "contains a control character")
		case l.Label != "" && labels[l.Label]:
			r.add(p+"label", l.Label, "is used by another lane: labels must be unique")
		}
		labels[l.Label] = true
		if !slices.Contains(roles, l.Role) {
			r.add(p+"role", l.Role, "is not one of "+strings.Join(roles, ", "))
		}
		for _, ref := range []struct{ key, name string }{{"device", l.Device}, {"badge", l.Badge}} {
			switch _, ok := devices[ref.name]; {
			case ref.name == "" && ref.key == "device":
				r.add(p+"device", nil, "is required: the name of the lane's thermometer in devices")
			case ref.name == "":
			case !ok:
				r.add(p+ref.key, ref.name, "is not the name of a device in devices")
			case usedBy[ref.name] != "":
				// A reading carries one lane: a device on two lanes would
				// light the wrong lamp.
				r.add(p+ref.key, ref.name, "is already used by lane "+usedBy[ref.name])
			default:
				usedBy[ref.name] = l.Name
			}
		}
		if _, ok := c.Outputs[l.Output]; l.Output != "" && !ok {
			r.add(p+"output", l.Output, "is not the name of an entry in outputs")
		}
	}
}

func validateOutputs(r *reporter, outputs map[string]lamps.Pins) {
	names := make([]string, 0, len(outputs))
	for n := range outputs {
		names = append(names, n)
	}
	slices.Sort(names)
	usedBy := map[string]string{} // pin → path
	for _, n := range names {
		o := outputs[n]
		for _, pin := range []struct{ key, name string }{
			{"green", o.Green}, {"red", o.Red}, {"amber", o.Amber}, {"buzzer", o.Buzzer}, {"barrier", o.Barrier},
		} {
			if pin.name == "" {
				continue
			}
			p := "outputs." + n + "." + pin.key
			if other, dup := usedBy[pin.name]; dup {
				r.add(p, pin.name, "is already wired to "+other)
				continue
			}
			usedBy[pin.name] = p
		}
	}
}

func (s Storage) validate(r *reporter) {
	if s.Path == "" {
		r.add("storage.path", nil, "is required, e.g. /var/lib/gatescreen/events.db")
	}
	positive(r, "storage.commit_interval", s.CommitInterval, 10*time.Second)
	intIn(r, "storage.commit_events", s.CommitEvents, 1, 65536, "events")
	switch {
	case s.MaxSize < MinMaxSize:
		r.add("storage.max_size", s.MaxSize, "is below the minimum of 1MiB")
	case strconv.IntSize == 32 && s.MaxSize > MaxMaxSize32:
		r.add("storage.max_size", s.MaxSize, "is above 1GiB, the most a 32-bit system can map")
	case s.MaxSize > MaxMaxSize:
		r.add("storage.max_size", s.MaxSize, "is above 64GiB")
	}
	positive(r, "storage.retention", s.Retention, 3650*24*time.Hour)
}

var (
	brokerSchemes = []string{"tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss"}
	tlsSchemes    = []string{"ssl", "tls", "mqtts", "wss"}
	identities    = []string{IdentityNone, IdentityPseudonym, IdentityID}
)

func (u Uplink) validate(r *reporter) {
	const p = "uplink."
	scheme := ""
	if u.Broker != "" {
		b, err := url.Parse(u.Broker)
		switch {
		case err != nil || b.Host == "":
			r.add(p+"broker", u.Broker, "is not a broker URL like tcp://broker.example:1883")
		case !slices.Contains(brokerSchemes, b.Scheme):
			r.add(p+"broker", u.Broker, "has scheme "+quoteValue(b.Scheme)+"; use one of "+strings.Join(brokerSchemes, ", "))
		case b.User != nil:
			r.add(p+"broker", redacted(b.Redacted()), "must not carry credentials: set username and password_file")
		default:
			scheme = b.Scheme
		}
	}
	if u.PasswordFile != "" && u.Username == "" {
		r.add(p+"password_file", u.PasswordFile, "needs username: MQTT sends no password without one")
	}
	if scheme != "" && !slices.Contains(tlsSchemes, scheme) {
		for _, f := range []struct{ key, value string }{{"ca_file", u.CAFile}, {"cert_file", u.CertFile}, {"key_file", u.KeyFile}} {
			if f.value != "" {
				r.add(p+f.key, f.value, "needs a TLS broker URL (ssl://, mqtts:// or wss://)")
			}
		}
	}
	if (u.CertFile == "") != (u.KeyFile == "") {
		if u.CertFile == "" {
			r.add(p+"key_file", u.KeyFile, "needs cert_file too")
		} else {
			r.add(p+"cert_file", u.CertFile, "needs key_file too")
		}
	}
	switch {
	case !slices.Contains(identities, u.Identity):
		r.add(p+"identity", u.Identity, "is not one of "+strings.Join(identities, ", "))
	case u.Identity == IdentityPseudonym && u.Broker != "" && u.PseudonymKeyFile == "":
		r.add(p+"pseudonym_key_file", nil, "is required with identity pseudonym: the per-school key of the pseudonyms")
	}
	intIn(r, p+"batch_size", u.BatchSize, 1, 10000, "events")
	if u.MaxInflight < 1 || u.MaxInflight > math.MaxUint16 {
		r.add(p+"max_inflight", u.MaxInflight, "is out of range 1–65535")
	}
	if !(u.RateLimit >= 0 && u.RateLimit <= 10000) {
		r.add(p+"rate_limit", u.RateLimit, "is out of range 0–10000 messages/s (0 means unlimited)")
	}
	// MQTT carries the keepalive in whole seconds, in 16 bits.
	if u.Keepalive < time.Second || u.Keepalive > math.MaxUint16*time.Second {
		r.add(p+"keepalive", u.Keepalive, "is out of range 1s–18h12m15s")
	}
	positive(r, p+"timeout", u.Timeout, 10*time.Minute)
}

func validListen(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	n, perr := strconv.ParseUint(port, 10, 16)
	return err == nil && perr == nil && (n != 0 || port == "0")
}

func (m Metrics) validate(r *reporter, screenListen string) {
	switch {
	case m.Listen == "":
	case !validListen(m.Listen):
		r.add("metrics.listen", m.Listen, "is not host:port like 127.0.0.1:9464 (empty disables /metrics)")
	case m.Listen == screenListen && !strings.HasSuffix(m.Listen, ":0"):
		r.add("metrics.listen", m.Listen, "is screen.listen too: give /metrics its own port")
	}
}

func (s Screen) validate(r *reporter) {
	if s.Listen != "" && !validListen(s.Listen) {
		r.add("screen.listen", s.Listen, "is not host:port like 127.0.0.1:8080 (empty disables the screen)")
	}
	if s.Lang != "zh-CN" && s.Lang != "en" {
		r.add("screen.lang", s.Lang, "is not zh-CN or en")
	}
	intIn(r, "screen.max_attempts", s.MaxAttempts, 1, 100, "attempts")
	positive(r, "screen.lockout", s.Lockout, 24*time.Hour)
	for i, h := range s.Hosts {
		if h == "" || strings.ContainsAny(h, ":/ ") {
			r.add(fmt.Sprintf("screen.hosts[%d]", i), h, "is not a host name like gate-box.local (no scheme, no port)")
		}
	}
	durIn(r, "screen.flag_hold", s.FlagHold, 0, 24*time.Hour)
}

func (c Calibration) validate(r *reporter) {
	positive(r, "calibration.max_age", c.MaxAge, 366*24*time.Hour)
	if !(c.MaxSpreadC > 0 && c.MaxSpreadC <= 2) {
		r.add("calibration.max_spread_c", c.MaxSpreadC, "is out of range: above 0 and at most 2 °C")
	}
}

var roundNames = []string{"morning", "noon", "evening"}

func (s School) validate(r *reporter) {
	for i, w := range s.Windows {
		p := fmt.Sprintf("school.windows[%d].", i)
		if w.Grade == "" {
			r.add(p+"grade", nil, "is required")
		}
		validateSpan(r, p, w.From, w.To)
	}
	seen := map[string]bool{}
	for i, rd := range s.Rounds {
		p := fmt.Sprintf("school.rounds[%d].", i)
		switch {
		case !slices.Contains(roundNames, rd.Name):
			r.add(p+"name", rd.Name, "is not one of "+strings.Join(roundNames, ", "))
		case seen[rd.Name]:
			r.add(p+"name", rd.Name, "is listed twice")
		}
		seen[rd.Name] = true
		validateSpan(r, p, rd.From, rd.To)
	}
	if len(s.Days) == 0 {
		r.add("school.days", nil, "is empty: a school open on no day has nobody to screen")
	}
	for i, d := range s.Days {
		if !slices.Contains(school.WeekdayNames, d) {
			r.add(fmt.Sprintf("school.days[%d]", i), d, "is not one of "+strings.Join(school.WeekdayNames, ", "))
		}
	}
	dates := map[string]string{}
	for _, list := range []struct {
		key   string
		dates []string
	}{{"school.holidays", s.Holidays}, {"school.makeup_days", s.MakeupDays}} {
		for i, d := range list.dates {
			p := fmt.Sprintf("%s[%d]", list.key, i)
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				r.add(p, d, "is not a date YYYY-MM-DD")
			} else if other, dup := dates[d]; dup {
				r.add(p, d, "is listed in "+other+" too")
			}
			dates[d] = list.key
		}
	}
}

func validateSpan(r *reporter, p, from, to string) {
	okFrom, okTo := validClock(from), validClock(to)
	if !okFrom {
		r.add(p+"from", from, "is not a local time HH:MM like 06:40")
	}
	if !okTo {
		r.add(p+"to", to, "is not a local time HH:MM like 07:20")
	}
	// HH:MM strings order like the times they name.
	if okFrom && okTo && from >= to {
		r.add(p+"to", to, "must be after from ("+from+")")
	}
}

// validClock accepts exactly HH:MM, 00:00–23:59.
func validClock(s string) bool {
	if len(s) != 5 || s[2] != ':' {
		return false
	}
	_, err := time.Parse("15:04", s)
	return err == nil
}
