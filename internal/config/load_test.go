package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatescreen/gatescreen/internal/config"
)

// badConfigs maps each file of testdata/config to the errors it must give,
// in order. Each expected line is a prefix of the actual one, so a driver
// may add detail (such as the list of its baud rates) after the message.
var badConfigs = map[string][]string{
	"absurd-values": {
		"absurd-values.bad.yaml:7: screening.badge_window: 876000h is out of range 1ms–1m0s",
		"absurd-values.bad.yaml:9: screening.relative.window: 4294967297 is out of range 3–256 passes",
		"absurd-values.bad.yaml:11: screening.segment.stable_window: 1000000000 is out of range 1–64 samples",
		"absurd-values.bad.yaml:21: storage.commit_events: 1e12 is out of range 1–65536 events",
	},
	"int-overflow": {
		"int-overflow.bad.yaml:9: screening.relative.window: 9223372036854775808 is out of range 3–256 passes",
		"int-overflow.bad.yaml:11: screening.segment.stable_window: 2.5 is not a whole number",
		"int-overflow.bad.yaml:16: devices[0].baud: 99999999999999999999 is not a supported baud rate",
		"int-overflow.bad.yaml:18: devices[1].driver: gymcu9061 is not a known driver",
		"int-overflow.bad.yaml:20: devices[1].baud: 1e19 is out of range for this key",
		"int-overflow.bad.yaml:26: storage.commit_events: -1e30 is out of range 1–65536 events",
	},
	"ambient-window":    {"ambient-window.bad.yaml:8: screening.ambient_max_c: 10 must be above ambient_min_c (30)"},
	"bad-address":       {"bad-address.bad.yaml:10: devices[0].address: 0x90 is not a 7-bit I²C address 0x03–0x77"},
	"bad-baud":          {"bad-baud.bad.yaml:10: devices[0].baud: 9601 is not a supported baud rate"},
	"bad-parity":        {"bad-parity.bad.yaml:10: devices[0].parity: E is not a parity: want none, even or odd"},
	"bad-broker-scheme": {"bad-broker-scheme.bad.yaml:15: uplink.broker: http://mqtt.example:1883 has scheme http; use one of tcp, ssl, tls, mqtt, mqtts, ws, wss"},
	"bad-broker-url":    {"bad-broker-url.bad.yaml:15: uplink.broker: mqtt.example:1883 is not a broker URL"},
	"bad-daily-at":      {"bad-daily-at.bad.yaml:15: reports.daily_at: 25:00 is not a local time HH:MM"},
	"bad-duration":      {"bad-duration.bad.yaml:7: screening.badge_window: 3 is not a duration with a unit"},
	"bad-identity":      {"bad-identity.bad.yaml:15: uplink.identity: name is not one of none, pseudonym, id"},
	"bad-lang":          {"bad-lang.bad.yaml:15: screen.lang: fr is not zh-CN or en"},
	"bad-listen":        {"bad-listen.bad.yaml:15: screen.listen: localhost is not host:port"},
	"bad-max-size":      {"bad-max-size.bad.yaml:15: storage.max_size: 512KiB is below the minimum of 1MiB"},
	"bad-mode":          {"bad-mode.bad.yaml:10: devices[0].mode: forehead is not body or skin"},
	"bad-round": {
		"bad-round.bad.yaml:17: school.rounds[1].name: night is not one of morning, noon, evening",
		"bad-round.bad.yaml:17: school.rounds[1].to: 20:00 must be after from (21:00)",
	},
	"bad-school-days": {
		"bad-school-days.bad.yaml:15: school.days[2]: funday is not one of sun, mon, tue, wed, thu, fri, sat",
		"bad-school-days.bad.yaml:16: school.holidays[1]: 2026-13-01 is not a date YYYY-MM-DD",
		"bad-school-days.bad.yaml:17: school.makeup_days[0]: 2026-10-01 is listed in school.holidays too",
	},
	"bad-size-unit":         {`bad-size-unit.bad.yaml:15: storage.max_size: "256 megabytes" is not a size like 256MiB`},
	"bad-timezone":          {"bad-timezone.bad.yaml:6: site.timezone: Mars/Olympus is not a known IANA time zone"},
	"bad-window":            {"bad-window.bad.yaml:18: school.windows[0].to: 07:20 must be after from (07:40)"},
	"broker-credentials":    {"broker-credentials.bad.yaml:15: uplink.broker: tcp://box:xxxxx@mqtt.example:1883 must not carry credentials"},
	"device-on-two-lanes":   {"device-on-two-lanes.bad.yaml:16: lanes[1].device: gun-1 is already used by lane student-1"},
	"driver-validate":       {"driver-validate.bad.yaml:12: devices[0].modbus.slave_id: 0 is out of range 1–247"},
	"duplicate-device":      {"duplicate-device.bad.yaml:10: devices[1].name: gun-1 is used by another device"},
	"duplicate-key":         {"duplicate-key.bad.yaml:6: site.gate: is written twice (first at line 5)"},
	"floor-above-threshold": {"floor-above-threshold.bad.yaml:8: screening.floor_c: 37.5 must be below threshold_c (37.3)"},
	"i2c-with-port":         {"i2c-with-port.bad.yaml:9: devices[0].port: /dev/ttyUSB0 is for serial devices"},
	"lane-bad-role":         {"lane-bad-role.bad.yaml:12: lanes[0].role: teacher is not one of student, staff, visitor, recheck, canteen"},
	"lane-missing-device":   {"lane-missing-device.bad.yaml:13: lanes[0].device: gun-9 is not the name of a device in devices"},
	"lane-missing-output":   {"lane-missing-output.bad.yaml:14: lanes[0].output: lane7 is not the name of an entry in outputs"},
	"many-errors": {
		"many-errors.bad.yaml:2: site.gate: is required",
		"many-errors.bad.yaml:6: screening.threshold_c: 41 is out of range 34.0–39.0 °C",
		"many-errors.bad.yaml:11: devices[0].baud: 9601 is not a supported baud rate",
		"many-errors.bad.yaml:12: devices[0].colour: is not a known key",
		"many-errors.bad.yaml:16: lanes[0].device: gun-2 is not the name of a device in devices",
		"many-errors.bad.yaml:18: reports.daily_at: 6pm is not a local time HH:MM",
	},
	"missing-site-field": {"missing-site-field.bad.yaml:2: site.gate: is required"},
	"modbus-block": {
		// The driver's own messages follow the field and value.
		"modbus-block.bad.yaml:12: devices[0].modbus.slave_id: 0 ",
		"modbus-block.bad.yaml:13: devices[1].modbus: ",
	},
	"negative-duration":     {"negative-duration.bad.yaml:15: storage.commit_interval: -200ms must be a positive duration"},
	"pseudonym-without-key": {"pseudonym-without-key.bad.yaml:14: uplink.pseudonym_key_file: is required with identity pseudonym"},
	"section-not-mapping":   {"section-not-mapping.bad.yaml:14: storage: /var/lib/gatescreen/events.db must be a mapping of keys"},
	"serial-without-port":   {"serial-without-port.bad.yaml:7: devices[0].port: is required for serial driver gymcu90614"},
	"syntax-error":          {"syntax-error.bad.yaml:6: invalid YAML: did not find expected '-' indicator"},
	"threshold-range":       {"threshold-range.bad.yaml:7: screening.threshold_c: 40 is out of range 34.0–39.0 °C"},
	"threshold-step":        {"threshold-step.bad.yaml:7: screening.threshold_c: 37.25 is not on a 0.1 °C step"},
	"threshold-type":        {"threshold-type.bad.yaml:7: screening.threshold_c: high is not a number"},
	"tls-files-without-tls": {"tls-files-without-tls.bad.yaml:17: uplink.ca_file: /etc/gatescreen/ca.pem needs a TLS broker URL"},
	"topic-unsafe":          {"topic-unsafe.bad.yaml:4: site.school: no1/middle must not contain '/'"},
	"two-documents":         {"two-documents.bad.yaml:14: a second YAML document (---) is not allowed"},
	"unknown-driver":        {"unknown-driver.bad.yaml:8: devices[0].driver: mlx9061 is not a known driver; known drivers: amg8833, badge,"},
	"unknown-key":           {"unknown-key.bad.yaml:10: devices[0].baudrate: is not a known key; did you mean baud?"},
	"unknown-section":       {"unknown-section.bad.yaml:14: screeening: is not a known key; did you mean screening?"},
}

const testdataDir = "../../testdata/config"

func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdataDir, "*.bad.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs found: %v", err)
	}
	for _, f := range files {
		if _, ok := badConfigs[strings.TrimSuffix(filepath.Base(f), ".bad.yaml")]; !ok {
			t.Errorf("%s has no expected errors in badConfigs", f)
		}
	}
	for name, want := range badConfigs {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(testdataDir, name+".bad.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(name+".bad.yaml", data)
			if err == nil {
				t.Fatalf("Parse accepted a bad config: %+v", cfg)
			}
			var errs config.Errors
			if !errors.As(err, &errs) || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("error %T is not config.Errors matching ErrInvalid: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(want) || len(errs) != len(want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), err)
			}
			for i := range want {
				if !strings.HasPrefix(got[i], want[i]) {
					t.Errorf("error %d:\n got  %s\n want %s…", i, got[i], want[i])
				}
			}
		})
	}
}

func TestFieldErrorParts(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdataDir, "bad-address.bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = config.Parse("configs/gate.yaml", data)
	var fe *config.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("errors.As(*FieldError) failed on %v", err)
	}
	want := config.FieldError{File: "configs/gate.yaml", Line: 10, Path: "devices[0].address", Value: "0x90", Msg: "is not a 7-bit I²C address 0x03–0x77"}
	if *fe != want {
		t.Fatalf("got %+v\nwant %+v", *fe, want)
	}
	if got := fe.Error(); got != "configs/gate.yaml:10: devices[0].address: 0x90 is not a 7-bit I²C address 0x03–0x77" {
		t.Fatalf("Error() = %q", got)
	}
}

const minimal = `site:
  district: haidian
  school: no1
  gate: east
devices:
  - name: gun-1
    driver: gymcu90614
    port: /dev/ttyUSB0
lanes:
  - name: student-1
    role: student
    device: gun-1
`

func TestDefaultsAndDerived(t *testing.T) {
	cfg, err := config.Parse("minimal.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site.BoxID != "no1-east" || cfg.Uplink.ClientID != "gatescreen-no1-east" {
		t.Errorf("derived ids: box_id %q client_id %q", cfg.Site.BoxID, cfg.Uplink.ClientID)
	}
	def := config.Default()
	if cfg.Screening != def.Screening || cfg.Storage != def.Storage || cfg.Site.Timezone != "Asia/Shanghai" {
		t.Errorf("defaults not kept:\n%+v\n%+v", cfg.Screening, cfg.Storage)
	}
	if len(cfg.School.Rounds) != 3 {
		t.Errorf("default rounds lost: %+v", cfg.School.Rounds)
	}

	cfg, err = config.Parse("explicit.yaml", []byte(minimal+
		"uplink:\n  client_id: district-assigned-7\nstorage:\n  max_size: 64MB\n  commit_interval: 50ms\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Uplink.ClientID != "district-assigned-7" || cfg.Storage.MaxSize != 64_000_000 || cfg.Storage.CommitInterval != 50*time.Millisecond {
		t.Errorf("explicit values not read: %+v %+v", cfg.Uplink, cfg.Storage)
	}
}

func TestEmptyFileNamesRequiredKeys(t *testing.T) {
	_, err := config.Parse("empty.yaml", nil)
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	for _, key := range []string{"site.district", "site.school", "site.gate"} {
		if !strings.Contains(err.Error(), "empty.yaml:1: "+key+": is required") {
			t.Errorf("missing %s in:\n%v", key, err)
		}
	}
}

// A file that cannot be read is a configuration error (exit 78: restarting
// cannot make it appear) that still says what the system said.
func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") || !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("want ErrInvalid wrapping a not-exist error naming the file; got %v", err)
	}
}
