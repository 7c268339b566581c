package daemon

import (
	"reflect"
	"slices"
	"testing"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/pipeline"
)

// A file that sets nothing screens with the pipeline's own defaults: the
// configuration's defaults and the pipeline's are the same numbers.
func TestDefaultScreeningIsThePipelinesDefault(t *testing.T) {
	got := screeningParams(config.Default().Screening)
	want := pipeline.DefaultParams()
	// Not in the file: the stuck detectors keep the pipeline's values.
	want.StuckCount, want.StuckFor = 0, 0
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("default screening section\n got %+v\nwant %+v", got, want)
	}
}

func TestDescribeIsTheOneDescription(t *testing.T) {
	idle := 24.5
	cfg := config.Default()
	cfg.Devices = []drivers.Device{
		{Name: "card-1", Driver: "badge", Port: "/dev/ttyUSB2"},
		{Name: "gy", Driver: "gymcu90614", Port: "/dev/ttyUSB0", Mode: "skin", OffsetC: 2.1, Gain: 1.01, IdleC: &idle},
		{Name: "gun", Driver: "lineproto", Port: "/dev/ttyUSB1", Line: &drivers.LineOpts{Pattern: `(?P<temp>\d+\.\d)`}},
	}
	cfg.Lanes = []config.Lane{
		{Name: "lane-1", Label: "1号通道", Role: event.RoleStudent, Device: "gy", Badge: "card-1"},
		{Name: "staff", Role: event.RoleStaff, Device: "gun"},
	}
	devs, lanes, err := describe(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantDevs := []pipeline.DeviceInfo{
		{Name: "card-1", Mode: pipeline.ModeBody},
		{Name: "gy", Continuous: true, Idle: true, IdleC: 24.5, Mode: pipeline.ModeSkin, OffsetC: 2.1, Gain: 1.01},
		{Name: "gun", Mode: pipeline.ModeBody},
	}
	if !slices.Equal(devs, wantDevs) {
		t.Errorf("devices\n got %+v\nwant %+v", devs, wantDevs)
	}
	wantLanes := []pipeline.Lane{
		{Name: "lane-1", Label: "1号通道", Role: event.RoleStudent, Device: 1, Badge: 0},
		{Name: "staff", Role: event.RoleStaff, Device: 2, Badge: -1},
	}
	if !slices.Equal(lanes, wantLanes) {
		t.Errorf("lanes\n got %+v\nwant %+v", lanes, wantLanes)
	}
}

func TestSchoolCalendar(t *testing.T) {
	s := config.Default().School
	s.Roster = "/etc/gatescreen/roster.csv"
	s.Windows = []school.Window{{Grade: "1", From: "07:20", To: "07:40"}}
	s.Holidays, s.MakeupDays = []string{"2026-10-01"}, []string{"2026-10-11"}
	want := school.Calendar{Rounds: s.Rounds, Windows: s.Windows, Days: s.Days,
		Holidays: []string{"2026-10-01"}, MakeupDays: []string{"2026-10-11"}}
	if got := s.Calendar(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calendar\n got %+v\nwant %+v", got, want)
	}
}
