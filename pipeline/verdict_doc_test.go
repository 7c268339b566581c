package pipeline

import (
	"os"
	"strings"
	"testing"

	"github.com/gatescreen/gatescreen/drivers"
)

// verdictCase is the input of one row of docs/verdict.md.
type verdictCase struct {
	dev DeviceInfo
	prm Params
	rs  []drivers.Reading
	// all checks every measurement, not only the last.
	all bool
}

var gun = DeviceInfo{Name: "gun", Mode: ModeBody}

func oneShot(rs ...drivers.Reading) verdictCase { return verdictCase{dev: gun, rs: rs} }

func continuousCase(rs []drivers.Reading) verdictCase {
	return verdictCase{dev: DeviceInfo{Name: "gy", Continuous: true, Mode: ModeBody}, rs: rs}
}

// verdictCases holds one input per row of docs/verdict.md, by the name in
// the row's first backticks.
func verdictCases() map[string]verdictCase {
	idle := repeat(10, 22.2)
	relative := verdictCase{dev: gun, prm: Params{Relative: Relative{Enabled: true, Window: 10}}}
	for range 10 {
		relative.rs = append(relative.rs, temp(35.8, 22))
	}
	relative.rs = append(relative.rs, temp(36.9, 22))
	stuck := oneShot()
	for range 12 {
		stuck.rs = append(stuck.rs, temp(36.4, 22))
	}
	var frozen []float64
	for range 120 {
		frozen = append(frozen, 22.5)
	}
	frozenPresence := append(append([]float64{}, idle...), 36.5, 36.6)
	for range 120 {
		frozenPresence = append(frozenPresence, 36.6)
	}
	garbage := continuousCase(garbageStream(7))
	garbage.all = true
	return map[string]verdictCase{
		"fever":              oneShot(temp(37.3, 22)),
		"relative":           relative,
		"normal":             oneShot(temp(36.6, 22)),
		"cold":               oneShot(temp(34.9, 22)),
		"device_alarm":       oneShot(drivers.NewTemperature(36.0, 24, drivers.FlagAlarm)),
		"device_alarm_fever": oneShot(drivers.NewTemperature(38.0, 24, drivers.FlagAlarm)),
		"short_dwell":        continuousCase(stream(append(append(append([]float64{}, idle...), 36.5, 36.5, 36.5), idle...)...)),
		"one_frame_fever":    continuousCase(stream(append(append(append([]float64{}, idle...), 38.5), idle...)...)),
		"unstable":           continuousCase(stream(append(append(append([]float64{}, idle...), repeat(6, 34.5, 35.0)...), idle...)...)),
		"too_far":            oneShot(retakeReading(36.1, drivers.RetakeTooFar)),
		"crowded":            oneShot(retakeReading(38.2, drivers.RetakeCrowded)),
		"checksum":           oneShot(drivers.Invalid(drivers.FlagChecksum, []byte{0x5a, 0x5a})),
		"sensor_error":       oneShot(drivers.NewTemperature(36.5, 22, drivers.FlagSensorError)),
		"device_range":       oneShot(drivers.NewTemperature(36.5, 22, drivers.FlagOutOfRange)),
		"implausible":        oneShot(temp(45.1, 22)),
		"malformed":          oneShot(drivers.Invalid(drivers.FlagMalformed, []byte("x"))),
		"status":             oneShot(drivers.NewTemperature(36.5, 22, drivers.FlagStatus)),
		"nan":                oneShot(temp(nan, 22)),
		"stuck_oneshot":      stuck,
		"stuck_stream":       continuousCase(stream(frozen...)),
		"stuck_presence":     continuousCase(stream(frozenPresence...)),
		"garbage":            garbage,
		"cold_room":          oneShot(temp(36.6, 10)),
	}
}

// The table of docs/verdict.md is what the pipeline does: every row's
// input gives the row's verdict and reason, and every case here has a row.
func TestVerdictTableFollowed(t *testing.T) {
	data, err := os.ReadFile("../docs/verdict.md")
	if err != nil {
		t.Fatal(err)
	}
	cases := verdictCases()
	rows := 0
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		name := strings.SplitN(cells[1], "`", 3)[1]
		verdict := strings.Trim(strings.TrimSpace(cells[2]), "`")
		reason := strings.Trim(strings.TrimSpace(cells[3]), "`")
		if reason == "—" {
			reason = ""
		}
		tc, ok := cases[name]
		if !ok {
			t.Errorf("docs/verdict.md row %q has no test case", name)
			continue
		}
		delete(cases, name)
		rows++
		t.Run(name, func(t *testing.T) {
			ms := feed(oneLane(t, tc.dev, tc.prm), tc.rs...)
			if len(ms) == 0 {
				t.Fatal("no measurement")
			}
			check := ms[len(ms)-1:]
			if tc.all {
				check = ms
			}
			for _, m := range check {
				if verdict == "as the body says" { // cold_room: a warning only
					if m.Verdict != VerdictPass || m.Warnings&WarnAmbientLow == 0 {
						t.Errorf("got %v/%q warnings %v, want pass with ambient_low", m.Verdict, m.Reason, m.Warnings.Names())
					}
					continue
				}
				if m.Verdict.String() != verdict || m.Reason.String() != reason {
					t.Errorf("got %v/%q, the table says %s/%q", m.Verdict, m.Reason, verdict, reason)
				}
			}
		})
	}
	for name := range cases {
		t.Errorf("test case %q has no row in docs/verdict.md", name)
	}
	if rows < 15 {
		t.Fatalf("read only %d rows of docs/verdict.md", rows)
	}
}

// retakeReading is a thermal array's reading that asks for a retake, with
// the hottest value it saw.
func retakeReading(hotC float64, why drivers.Retake) drivers.Reading {
	r := drivers.NewTemperature(hotC, 24, 0)
	r.Retake = why
	return r
}
