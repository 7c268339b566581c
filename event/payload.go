package event

// Verdict values of a reading.
const (
	VerdictPass    = "pass"
	VerdictFlag    = "flag"
	VerdictRetake  = "retake"
	VerdictInvalid = "invalid"
)

// Reading is the payload of a KindReading event. Temperatures are pointers so
// that "not measured" is null in JSON, never a misleading 0.
type Reading struct {
	Lane   string `json:"lane"`
	Role   string `json:"role"`
	Device string `json:"device"`
	// RawC is the object temperature as the device reported it.
	RawC     *float64 `json:"raw_c"`
	AmbientC *float64 `json:"ambient_c"`
	// BodyC is the compensated temperature that was classified.
	BodyC   *float64 `json:"body_c"`
	Verdict string   `json:"verdict"`
	// Reason explains retake and invalid verdicts and flags, e.g.
	// "checksum", "below_floor", "threshold", "relative".
	Reason string `json:"reason,omitempty"`
	// Warnings such as "ambient_low" do not change the verdict.
	Warnings []string `json:"warnings,omitempty"`
	// Compensation applied: mode "body" or "skin", offset and gain, and the
	// calibration record it came from (0: configured offset).
	Mode          string  `json:"mode,omitempty"`
	OffsetC       float64 `json:"offset_c,omitempty"`
	Gain          float64 `json:"gain,omitempty"`
	CalibrationID uint64  `json:"calibration_id,omitempty"`
	// ThresholdC is the threshold in force when the reading was classified.
	ThresholdC float64 `json:"threshold_c"`
	// PersonID is the roster id paired by badge; the uplink replaces it
	// according to uplink.identity and never sends names.
	PersonID string `json:"person_id,omitempty"`
	// Round is morning, noon or evening; Late marks an arrival after the
	// person's grade window.
	Round string `json:"round,omitempty"`
	Late  bool   `json:"late,omitempty"`
	// Ticket is the re-check ticket opened by a flag, e.g. "R-003".
	Ticket string `json:"ticket,omitempty"`
	// FrameHex holds the raw bytes of an invalid frame.
	FrameHex string `json:"frame_hex,omitempty"`
}

// Case states and dispositions.
const (
	CaseAwaitingRecheck = "awaiting_recheck"
	CaseCleared         = "cleared"
	CaseConfirmed       = "confirmed"
	CaseReferred        = "referred"
	CaseClosed          = "closed"

	DispositionCDCTransfer       = "cdc_transfer"
	DispositionParentFeverClinic = "parent_fever_clinic"
)

// Case is the payload of a KindCase event: one transition of a re-check case.
type Case struct {
	// Ticket is unique per day, e.g. "R-001"; Day is its local date.
	Ticket string `json:"ticket"`
	Day    string `json:"day"`
	Lane   string `json:"lane"`
	Role   string `json:"role,omitempty"`
	From   string `json:"from,omitempty"`
	State  string `json:"state"`
	// ReadingSeq is the seq of the flagged reading that opened the case.
	// Storage sets it on every transition it stores (the pipeline cannot
	// know it: the reading and the case reach the store by different
	// sinks); it stays 0 only when that reading was never stored.
	ReadingSeq uint64   `json:"reading_seq,omitempty"`
	FlagC      *float64 `json:"flag_c,omitempty"`
	RecheckC   *float64 `json:"recheck_c,omitempty"`
	// ContactHistory is asked when a re-check confirms the fever.
	ContactHistory *bool  `json:"contact_history,omitempty"`
	Disposition    string `json:"disposition,omitempty"`
	Outcome        string `json:"outcome,omitempty"`
	// Actor is who did it: "doctor", "lane:<name>" or "system".
	Actor    string `json:"actor"`
	PersonID string `json:"person_id,omitempty"`
	OpenedAt Time   `json:"opened_at,omitempty"`

	// Drill mirrors the envelope's Event.Drill for the box's own
	// components (storage fills it from the stored case, the pipeline
	// keeps it, the screen shows it), so that a drill case restored after
	// a restart stays a drill. It is not part of the payload: on the wire
	// the envelope's "drill" says it.
	Drill bool `json:"-"`
}

// Health states.
const (
	HealthUp       = "up"
	HealthDegraded = "degraded"
	HealthDown     = "down"
	HealthWarning  = "warning"
	HealthOK       = "ok"
)

// Health is the payload of a KindHealth event.
type Health struct {
	// Component is "device", "storage", "clock", "pipeline", "uplink" or
	// "calibration".
	Component string `json:"component"`
	// Device names the device for component "device" and "calibration".
	Device string `json:"device,omitempty"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Count carries a counter where it applies (ring overflows, errors).
	Count uint64 `json:"count,omitempty"`
}

// Gap is the payload of a KindGap event: readings purged before upload
// because the store reached its size limit.
type Gap struct {
	FromSeq uint64 `json:"from_seq"`
	ToSeq   uint64 `json:"to_seq"`
	Count   uint64 `json:"count"`
	Reason  string `json:"reason"`
}

// Calibration is the payload of a KindCalibration event. A record is known
// by the sequence number of the event that stored it: ID is 0 in the stored
// body (the sequence is drawn by the store) and filled in when it is read
// back or uploaded.
type Calibration struct {
	ID         uint64    `json:"id"`
	Device     string    `json:"device"`
	ReferenceC float64   `json:"reference_c"`
	Samples    []float64 `json:"samples"`
	MeanC      float64   `json:"mean_c"`
	SpreadC    float64   `json:"spread_c"`
	OffsetC    float64   `json:"offset_c"`
	At         Time      `json:"at"`
	// PreviousID is the record in force before this one (0: the configured
	// offset alone) and PreviousOffsetC its correction: what an undo restores.
	PreviousID      uint64  `json:"previous_id,omitempty"`
	PreviousOffsetC float64 `json:"previous_offset_c,omitempty"`
	// Undoes marks a record written by `calibrate -undo`: the id of the record
	// it withdrew. Its offset and samples are those of Restores (0: back to
	// the configured offset).
	Undoes   uint64 `json:"undoes,omitempty"`
	Restores uint64 `json:"restores,omitempty"`
}

// Counts is a tally of verdicts.
type Counts struct {
	Total   int `json:"total"`
	Pass    int `json:"pass"`
	Flag    int `json:"flag"`
	Retake  int `json:"retake"`
	Invalid int `json:"invalid"`
}

// Daily is the payload of a KindDaily event, sent every day, also when every
// count is zero.
type Daily struct {
	Day    string            `json:"day"`
	Zero   bool              `json:"zero"`
	Totals Counts            `json:"totals"`
	ByLane map[string]Counts `json:"by_lane"`
	// LaneLabels names each configured lane as people read it (lanes[].label,
	// default the lane's name), so a report can say 1号通道 for lane-1.
	LaneLabels  map[string]string `json:"lane_labels,omitempty"`
	ByRole      map[string]Counts `json:"by_role"`
	ByGrade     map[string]Counts `json:"by_grade"`
	ByRound     map[string]Counts `json:"by_round"`
	Cases       map[string]int    `json:"cases"`
	Disposition map[string]int    `json:"dispositions"`
	Absentees   int               `json:"absentees"`
	// AbsenceReasons counts the absentees by the reason their class
	// teacher recorded: illness, personal_leave, unknown, or unrecorded.
	// Counts only: who was absent stays on the box.
	AbsenceReasons map[string]int `json:"absence_reasons,omitempty"`
	// IllByGrade counts absences through illness (因病缺勤) per grade, and
	// IllSymptoms the symptoms recorded for them (fever, cough, other) and
	// how many were seen by a doctor (seen_doctor).
	IllByGrade  map[string]int `json:"ill_by_grade,omitempty"`
	IllSymptoms map[string]int `json:"ill_symptoms,omitempty"`
	Drills      Counts         `json:"drills"`
	// DeviceUptime is the share of the day each device was up, 0–1.
	DeviceUptime map[string]float64 `json:"device_uptime"`
	DeviceFaults map[string]int     `json:"device_faults"`
	Visitors     int                `json:"visitors"`
	Late         bool               `json:"late,omitempty"`
}
