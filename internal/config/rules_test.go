package config_test

import (
	"strings"
	"testing"

	"github.com/gatescreen/gatescreen/internal/config"
)

// TestRules checks the rules the bad files of testdata/config do not, on
// small snippets appended to the 12-line minimal config (so the snippet's
// first line is line 13). An empty want means the snippet is valid.
func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name, snippet string
		want          []string
	}{
		{"uplink disabled needs no pseudonym key", "uplink:\n  broker: \"\"\n", nil},
		{"tls broker with client certificate", "uplink:\n  broker: mqtts://d.example:8883\n  identity: id\n  username: box\n  password_file: /etc/p\n  ca_file: /etc/ca\n  cert_file: /etc/c\n  key_file: /etc/k\n", nil},
		{"screen on any interface", "screen:\n  listen: :8080\n", nil},
		{"screen disabled", "screen:\n  listen: \"\"\n", nil},
		{"metrics off", "metrics:\n  listen: \"\"\n", nil},
		{"metrics listeners", "metrics:\n  listen: 9464\n", []string{"x.yaml:14: metrics.listen: 9464 is not host:port"}},
		{"metrics on the screen's port", "screen:\n  listen: 0.0.0.0:8080\nmetrics:\n  listen: 0.0.0.0:8080\n", []string{"x.yaml:16: metrics.listen: 0.0.0.0:8080 is screen.listen too"}},
		{"screen host names and flag hold", "screen:\n  hosts: [gate-box.local, 校门.example]\n  flag_hold: 2m\n", nil},
		{"screen host names with ports, negative hold", "screen:\n  hosts: [\"gate-box.local:8080\", \"http://gate\", \"\"]\n  flag_hold: -1s\n", []string{
			"x.yaml:14: screen.hosts[0]: gate-box.local:8080 is not a host name",
			"x.yaml:14: screen.hosts[1]: http://gate is not a host name",
			"x.yaml:14: screen.hosts[2]: \"\" is not a host name",
			"x.yaml:15: screen.flag_hold: -1s is out of range 0s–24h0m0s",
		}},
		{"password without username", "uplink:\n  password_file: /etc/p\n",
			[]string{"x.yaml:14: uplink.password_file: /etc/p needs username"}},
		{"certificate without key", "uplink:\n  broker: ssl://d:8883\n  identity: none\n  cert_file: /etc/c\n",
			[]string{"x.yaml:16: uplink.cert_file: /etc/c needs key_file too"}},
		{"key without certificate", "uplink:\n  broker: ssl://d:8883\n  identity: none\n  key_file: /etc/k\n",
			[]string{"x.yaml:16: uplink.key_file: /etc/k needs cert_file too"}},
		{"uplink numbers", "uplink:\n  batch_size: 0\n  max_inflight: 70000\n  rate_limit: -1\n  keepalive: 500ms\n  timeout: 0s\n", []string{
			"x.yaml:14: uplink.batch_size: 0 is out of range 1–10000 events",
			"x.yaml:15: uplink.max_inflight: 70000 is out of range 1–65535",
			"x.yaml:16: uplink.rate_limit: -1 is out of range 0–10000 messages/s",
			"x.yaml:17: uplink.keepalive: 500ms is out of range 1s–18h12m15s",
			"x.yaml:18: uplink.timeout: 0s must be a positive duration",
		}},
		{"storage numbers", "storage:\n  path: \"\"\n  commit_events: 0\n  retention: 0s\n", []string{
			"x.yaml:14: storage.path: is required",
			"x.yaml:15: storage.commit_events: 0 is out of range 1–65536 events",
			"x.yaml:16: storage.retention: 0s must be a positive duration",
		}},
		{"screen numbers", "screen:\n  listen: 127.0.0.1:99999\n  max_attempts: 0\n  lockout: -1m\n", []string{
			"x.yaml:14: screen.listen: 127.0.0.1:99999 is not host:port",
			"x.yaml:15: screen.max_attempts: 0 is out of range 1–100 attempts",
			"x.yaml:16: screen.lockout: -1m must be a positive duration",
		}},
		{"screening details", "screening:\n  floor_c: 25\n  ambient_min_c: -30\n  relative:\n    delta_c: 0\n    window: 1\n  recheck_overdue: 0s\n  segment:\n    presence_delta_c: 0\n    min_dwell: 0s\n    stable_window: 0\n    stable_spread_c: 0\n", []string{
			"x.yaml:14: screening.floor_c: 25 is below 30 °C",
			"x.yaml:15: screening.ambient_min_c: -30 is out of range -20–50 °C",
			"x.yaml:17: screening.relative.delta_c: 0 is out of range",
			"x.yaml:18: screening.relative.window: 1 is out of range 3–256 passes",
			"x.yaml:19: screening.recheck_overdue: 0s is out of range 1m0s–24h0m0s",
			"x.yaml:21: screening.segment.presence_delta_c: 0 is out of range: above 0 and at most 10 °C",
			"x.yaml:22: screening.segment.min_dwell: 0s is out of range 1ms–10s",
			"x.yaml:23: screening.segment.stable_window: 0 is out of range 1–64 samples",
			"x.yaml:24: screening.segment.stable_spread_c: 0 is out of range: above 0 and at most 2 °C",
		}},
		{"calibration", "calibration:\n  max_age: 0s\n  max_spread_c: -0.1\n", []string{
			"x.yaml:14: calibration.max_age: 0s must be a positive duration",
			"x.yaml:15: calibration.max_spread_c: -0.1 is out of range: above 0 and at most 2 °C",
		}},
		{"timezone Local", "reports:\n  daily_at: \"6:00\"\n", []string{"x.yaml:14: reports.daily_at: 6:00 is not a local time HH:MM"}},
		{"windows and rounds", "school:\n  windows:\n    - from: \"7:00\"\n      to: \"07:20\"\n  rounds:\n    - {name: noon, from: \"11:00\", to: \"14:00\"}\n    - {name: noon, from: \"12:00\", to: \"13:00\"}\n", []string{
			"x.yaml:15: school.windows[0].grade: is required",
			"x.yaml:15: school.windows[0].from: 7:00 is not a local time HH:MM",
			"x.yaml:19: school.rounds[1].name: noon is listed twice",
		}},
		{"pins wired twice", "outputs:\n  a:\n    red: GPIO17\n  b:\n    green: GPIO17\n", []string{
			"x.yaml:17: outputs.b.green: GPIO17 is already wired to outputs.a.red",
		}},
		{"lane labels", "    label: 1号通道\n  - name: b\n    label: 1号通道\n    role: staff\n  - name: c\n    label: \"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三\"\n    role: staff\n  - name: d\n    label: \"a\\tb\"\n    role: staff\n", []string{
			"x.yaml:14: lanes[1].device: is required",
			"x.yaml:15: lanes[1].label: 1号通道 is used by another lane: labels must be unique",
			"x.yaml:17: lanes[2].device: is required",
			"x.yaml:18: lanes[2].label: 一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三 is longer than 32 characters",
			"x.yaml:20: lanes[3].device: is required",
			"x.yaml:21: lanes[3].label: \"a\\tb\" contains a control character",
		}},
		{"second lane problems", "  - role: \"\"\n    device: gun-1\n    badge: reader-9\n  - name: student-1\n    role: staff\n    device: \"\"\n", []string{
			"x.yaml:13: lanes[1].name: is required",
			"x.yaml:13: lanes[1].role: \"\" is not one of student",
			"x.yaml:14: lanes[1].device: gun-1 is already used by lane student-1",
			"x.yaml:15: lanes[1].badge: reader-9 is not the name of a device in devices",
			"x.yaml:16: lanes[2].name: student-1 is used by another lane",
			"x.yaml:18: lanes[2].device: is required",
		}},
		{"type errors", "screening:\n  threshold_c: thirty-seven-point-three\n  relative:\n    enabled: maybe\n    window: [1]\n  floor_c: {a: b}\n", []string{
			"x.yaml:14: screening.threshold_c: thirty-seven-point-three is not a number",
			"x.yaml:16: screening.relative.enabled: maybe is not true or false",
			"x.yaml:17: screening.relative.window: must be a single value, not a list",
			"x.yaml:18: screening.floor_c: must be a single value, not a mapping",
		}},
		// yaml.v3 drops a mapping with a duplicate key, so nothing else in it
		// can be checked: only the duplicate is reported.
		{"duplicate section", "site:\n  gate: west\n", []string{"x.yaml:13: site: is written twice (first at line 1)"}},
		{"lanes not a list", "outputs: [a]\n", []string{"x.yaml:13: outputs: must be a mapping of keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("x.yaml", []byte(minimal+tc.snippet))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid snippet rejected:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tc.want)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tc.want), err)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("error %d:\n got  %s\n want %s…", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestDeviceRules checks the generic device keys on a config of its own.
func TestDeviceRules(t *testing.T) {
	const doc = `site: {district: d, school: s, gate: g, timezone: Local}
devices:
  - name: gun-1
    driver: gymcu90614
    port: /dev/ttyUSB0
    mode: skin
    offset_c: 9
    gain: 3
    rate_hz: 500
    address: 0x5a
    bus: "1"
    baud: fast
  - name: mlx-1
    driver: mlx90614
    baud: 9600
    address: 70000
  - name: ""
    driver: ""
  - name: bad
    driver: configtest
    port: /dev/ttyUSB1
    modbus:
      slave_id: 300
`
	want := []string{
		"d.yaml:1: site.timezone: Local is not allowed: name the zone",
		"d.yaml:7: devices[0].offset_c: 9 is out of range -5–5 °C",
		"d.yaml:8: devices[0].gain: 3 is out of range 0.5–2",
		"d.yaml:9: devices[0].rate_hz: 500 is out of range 0–100 Hz",
		"d.yaml:10: devices[0].address: 0x5a is for I²C devices; gymcu90614 is serial",
		"d.yaml:11: devices[0].bus: 1 is for I²C devices; gymcu90614 is serial",
		"d.yaml:12: devices[0].baud: fast is not a whole number",
		"d.yaml:15: devices[1].baud: 9600 is for serial devices; mlx90614 is on I²C",
		"d.yaml:16: devices[1].address: 70000 is not a whole number from 0 to 65535",
		"d.yaml:17: devices[2].name: is required",
		"d.yaml:18: devices[2].driver: is required; known drivers: amg8833, badge,",
		"d.yaml:23: devices[3].modbus.slave_id: 300 is not a whole number from 0 to 255",
	}
	_, err := config.Parse("d.yaml", []byte(doc))
	if err == nil {
		t.Fatal("accepted")
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), err)
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got  %s\n want %s…", i, got[i], want[i])
		}
	}
}
