package config

import (
	"time"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/lamps"
	"github.com/gatescreen/gatescreen/pipeline"
)

// Config is the whole configuration file. Field docs name the YAML key and
// the default; configs/gate.example.yaml documents every key for operators.
type Config struct {
	Site        Site                  `yaml:"site"`
	Screening   Screening             `yaml:"screening"`
	Devices     []drivers.Device      `yaml:"devices"`
	Lanes       []Lane                `yaml:"lanes"`
	Storage     Storage               `yaml:"storage"`
	Uplink      Uplink                `yaml:"uplink"`
	Screen      Screen                `yaml:"screen"`
	Metrics     Metrics               `yaml:"metrics"`
	Reports     Reports               `yaml:"reports"`
	Calibration Calibration           `yaml:"calibration"`
	School      School                `yaml:"school"`
	Outputs     map[string]lamps.Pins `yaml:"outputs,omitempty"`
}

// Site names the box in the district's topic tree.
type Site struct {
	District string `yaml:"district"`
	School   string `yaml:"school"`
	Gate     string `yaml:"gate"`
	// Timezone is an IANA name; default Asia/Shanghai.
	Timezone string `yaml:"timezone"`
	// BoxID identifies the box in event ids; default "<school>-<gate>".
	BoxID string `yaml:"box_id,omitempty"`
}

// Screening holds the parameters of the pipeline; they reload on SIGHUP.
type Screening struct {
	// ThresholdC flags body temperatures at or above it; default 37.3,
	// 34.0–39.0 in 0.1 steps.
	ThresholdC float64 `yaml:"threshold_c"`
	// FloorC: body temperatures below it ask for a retake; default 35.0.
	FloorC float64 `yaml:"floor_c"`
	// AmbientMinC/AmbientMaxC: readings taken outside this ambient window
	// carry a warning; default 16–35.
	AmbientMinC float64 `yaml:"ambient_min_c"`
	AmbientMaxC float64 `yaml:"ambient_max_c"`
	// Relative also flags a reading at or above the median of the lane's
	// last passes plus a delta; off by default.
	Relative pipeline.Relative `yaml:"relative"`
	// BadgeWindow pairs a badge swipe with a reading on the same lane within
	// ± this duration; default 3s.
	BadgeWindow time.Duration `yaml:"badge_window"`
	// RecheckOverdue marks a case waiting longer as overdue; default 10m.
	RecheckOverdue time.Duration `yaml:"recheck_overdue"`
	// Segment tunes how continuous sensors become one measurement per person.
	Segment pipeline.Segment `yaml:"segment"`
}

// Lane is one queue at the gate with its thermometer.
type Lane struct {
	Name string `yaml:"name"`
	// Label is what people read for the lane, e.g. 1号通道; default the
	// name. At most 32 characters.
	Label string `yaml:"label,omitempty"`
	// Role is student, staff, visitor, recheck or canteen (event.RoleStudent…).
	Role string `yaml:"role"`
	// Device is the thermometer's devices[].name.
	Device string `yaml:"device"`
	// Badge is an optional badge reader's devices[].name.
	Badge string `yaml:"badge,omitempty"`
	// Output names an entry of outputs (lamps, buzzer, barrier pins:
	// lamps.Pins).
	Output string `yaml:"output,omitempty"`
}

// LaneLabels maps each lane's name to what people read for it (its label,
// or the name when it has none), for the reports and the ledger.
func (c *Config) LaneLabels() map[string]string {
	m := make(map[string]string, len(c.Lanes))
	for _, l := range c.Lanes {
		m[l.Name] = l.Label
		if l.Label == "" {
			m[l.Name] = l.Name
		}
	}
	return m
}

// Storage configures the bbolt event store.
type Storage struct {
	// Path of the bbolt file; default /var/lib/gatescreen/events.db.
	Path string `yaml:"path"`
	// CommitInterval bounds how long a normal reading waits to be durable;
	// default 200ms. Flags and case transitions commit at once.
	CommitInterval time.Duration `yaml:"commit_interval"`
	// CommitEvents commits early when this many events wait; default 256.
	CommitEvents int `yaml:"commit_events"`
	// MaxSize bounds the file; default 256MiB.
	MaxSize ByteSize `yaml:"max_size"`
	// Retention keeps uploaded events this long; default 720h (30 days).
	Retention time.Duration `yaml:"retention"`
}

// Identity modes of uploaded readings.
const (
	IdentityNone      = "none"
	IdentityPseudonym = "pseudonym"
	IdentityID        = "id"
)

// Uplink configures the MQTT connection to the district.
type Uplink struct {
	// Broker is a URL: tcp://host:1883, ssl://host:8883 or ws://…; empty
	// disables the uplink (events stay in the store).
	Broker   string `yaml:"broker"`
	ClientID string `yaml:"client_id,omitempty"`
	Username string `yaml:"username,omitempty"`
	// PasswordFile holds the MQTT password; it is never written in the config.
	PasswordFile string `yaml:"password_file,omitempty"`
	CAFile       string `yaml:"ca_file,omitempty"`
	CertFile     string `yaml:"cert_file,omitempty"`
	KeyFile      string `yaml:"key_file,omitempty"`
	// Identity is none, pseudonym (default) or id.
	Identity string `yaml:"identity"`
	// PseudonymKeyFile holds the per-school HMAC key (identity pseudonym).
	PseudonymKeyFile string `yaml:"pseudonym_key_file,omitempty"`
	// BatchSize is the most events in one readings message; default 200.
	BatchSize int `yaml:"batch_size"`
	// MaxInflight bounds unacknowledged messages; default 16.
	MaxInflight int `yaml:"max_inflight"`
	// RateLimit bounds backlog messages per second; 0 means unlimited.
	RateLimit float64 `yaml:"rate_limit,omitempty"`
	// Keepalive; default 30s.
	Keepalive time.Duration `yaml:"keepalive"`
	// Timeout bounds every wait on the broker; default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// Screen configures the local web screen.
type Screen struct {
	// Listen is host:port; default 127.0.0.1:8080. Empty disables it.
	Listen string `yaml:"listen"`
	// Lang is zh-CN (default) or en.
	Lang string `yaml:"lang"`
	// DoctorPINFile holds the doctor's PIN or password.
	DoctorPINFile string `yaml:"doctor_pin_file,omitempty"`
	// TeacherPINFile holds the class teachers' PIN: their session sees the
	// absentees and records why each is absent, nothing of the doctor's
	// desk. Unset: no teacher login.
	TeacherPINFile string `yaml:"teacher_pin_file,omitempty"`
	// Lockout: after MaxAttempts wrong PINs from one client (IP address)
	// that client's logins are refused for Lockout, twice as long at each
	// further lock (at most 24h); other clients still log in. Defaults 5
	// and 5m.
	MaxAttempts int           `yaml:"max_attempts"`
	Lockout     time.Duration `yaml:"lockout"`
	// Hosts are the host names the screen is opened by (e.g.
	// gate-box.local); IP addresses and localhost always work, any other
	// name is refused (DNS rebinding). Default none.
	Hosts []string `yaml:"hosts,omitempty"`
	// FlagHold keeps a flagged person's red on the lane tile this long;
	// 0 (default) until the school doctor has the person at the re-check
	// desk (selects the ticket or records the re-check).
	FlagHold time.Duration `yaml:"flag_hold"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is host:port of its own listener serving /metrics; default
	// 127.0.0.1:9464, so that who reaches the screen on the LAN does not
	// read the box's figures. Empty disables /metrics.
	Listen string `yaml:"listen"`
}

// Reports configures the daily report.
type Reports struct {
	// DailyAt is the local time of the daily report, HH:MM; default 18:00.
	DailyAt string `yaml:"daily_at"`
}

// Calibration configures calibration warnings.
type Calibration struct {
	// MaxAge warns when a device's calibration is older; default 336h.
	MaxAge time.Duration `yaml:"max_age"`
	// MaxSpreadC warns when the samples spread wider; default 0.3.
	MaxSpreadC float64 `yaml:"max_spread_c"`
}

// School describes the school's day: roster, arrival windows and rounds.
type School struct {
	// Roster is the CSV imported by `gatescreen roster import`.
	Roster string `yaml:"roster,omitempty"`
	// Windows are arrival windows per grade.
	Windows []school.Window `yaml:"windows,omitempty"`
	// Rounds are the check rounds; default morning 06:00–10:00, noon
	// 11:00–14:30, evening 16:00–18:00: the daily report at 18:00 covers them all
	// (a school with a later evening check sets reports.daily_at after it).
	Rounds []school.Round `yaml:"rounds,omitempty"`
	// Days are the weekdays the school is open (mon … sun); default mon–fri.
	// Holidays are dates (YYYY-MM-DD) it is closed on such a day, MakeupDays
	// dates it is open on another (调休). On a day it is closed nobody is
	// absent.
	Days       []string `yaml:"days,omitempty"`
	Holidays   []string `yaml:"holidays,omitempty"`
	MakeupDays []string `yaml:"makeup_days,omitempty"`
}

// Calendar is the school's week and day from this section, for
// school.NewSchedule (the daemon's, the companion commands' and their
// tests').
func (s School) Calendar() school.Calendar {
	return school.Calendar{Rounds: s.Rounds, Windows: s.Windows, Days: s.Days,
		Holidays: s.Holidays, MakeupDays: s.MakeupDays}
}

// ByteSize is a size in bytes written as 256MiB, 64MB or a plain number.
type ByteSize int64

// Default returns the configuration every file starts from.
func Default() Config {
	return Config{
		Site: Site{Timezone: "Asia/Shanghai"},
		Screening: Screening{
			ThresholdC:     37.3,
			FloorC:         35.0,
			AmbientMinC:    16,
			AmbientMaxC:    35,
			Relative:       pipeline.Relative{DeltaC: 1.0, Window: 50},
			BadgeWindow:    3 * time.Second,
			RecheckOverdue: 10 * time.Minute,
			Segment: pipeline.Segment{
				PresenceDeltaC: 1.5,
				MinDwell:       500 * time.Millisecond,
				StableWindow:   3,
				StableSpreadC:  0.3,
			},
		},
		Storage: Storage{
			Path:           "/var/lib/gatescreen/events.db",
			CommitInterval: 200 * time.Millisecond,
			CommitEvents:   256,
			MaxSize:        256 << 20,
			Retention:      30 * 24 * time.Hour,
		},
		Uplink: Uplink{
			Identity:    IdentityPseudonym,
			BatchSize:   200,
			MaxInflight: 16,
			Keepalive:   30 * time.Second,
			Timeout:     10 * time.Second,
		},
		Screen:      Screen{Listen: "127.0.0.1:8080", Lang: "zh-CN", MaxAttempts: 5, Lockout: 5 * time.Minute},
		Metrics:     Metrics{Listen: "127.0.0.1:9464"},
		Reports:     Reports{DailyAt: "18:00"},
		Calibration: Calibration{MaxAge: 14 * 24 * time.Hour, MaxSpreadC: 0.3},
		School: School{Rounds: []school.Round{
			{Name: "morning", From: "06:00", To: "10:00"},
			{Name: "noon", From: "11:00", To: "14:30"},
			{Name: "evening", From: "16:00", To: "18:00"},
		}, Days: []string{"mon", "tue", "wed", "thu", "fri"}},
	}
}
