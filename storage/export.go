package storage

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatescreen/gatescreen/event"
)

// LedgerColumns are the CSV header cells of the ledger (台账), Chinese and
// English in one cell; docs/ledger.md explains each column.
var LedgerColumns = []string{
	"序号 seq", "时间 time", "时钟已同步 clock_synced", "类型 kind",
	"通道 lane", "通道名称 lane_label", "身份 role", "设备 device", "人员编号 person_id",
	"体温 body_c", "原始读数 raw_c", "环境温度 ambient_c",
	"结果 verdict", "原因 reason", "提示 warnings", "轮次 round", "迟到 late",
	"复检单号 ticket", "复检状态 case_state", "复检体温 recheck_c",
	"处置 disposition", "结果说明 outcome", "操作人 actor", "演练 drill",
}

// utf8BOM makes Excel open the file as UTF-8, so Chinese text is readable.
const utf8BOM = "\uFEFF"

const ledgerTime = "2006-01-02 15:04:05"

// ExportCSV writes the ledger of readings and case transitions whose wall
// time is in [from, to) as CSV (UTF-8 with BOM), times in loc (nil: UTC).
// labels names the lanes as people read them (a lane missing from it is
// shown by its name).
func ExportCSV(w io.Writer, s *Store, from, to time.Time, loc *time.Location, labels map[string]string) error {
	if loc == nil {
		loc = time.UTC
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(utf8BOM); err != nil {
		return fmt.Errorf("storage: export csv: %w", err)
	}
	cw := csv.NewWriter(bw)
	if err := cw.Write(LedgerColumns); err != nil {
		return fmt.Errorf("storage: export csv: %w", err)
	}
	err := s.Scan(from, to, func(ev event.Event) error {
		row, ok, err := ledgerRow(&ev, loc)
		if err != nil || !ok {
			return err
		}
		row[5] = labels[row[4]]
		if row[5] == "" {
			row[5] = row[4]
		}
		return cw.Write(row)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("storage: export csv: %w", err)
	}
	return nil
}

func ledgerRow(ev *event.Event, loc *time.Location) ([]string, bool, error) {
	row := make([]string, len(LedgerColumns))
	row[0] = strconv.FormatUint(ev.Seq, 10)
	row[1] = time.Unix(0, ev.Wall).In(loc).Format(ledgerTime)
	row[2] = strconv.FormatBool(ev.ClockSynced)
	row[3] = ev.Kind.String()
	row[23] = strconv.FormatBool(ev.Drill)
	switch ev.Kind {
	case event.KindReading:
		var r event.Reading
		if err := ev.Decode(&r); err != nil {
			return nil, false, err
		}
		row[4], row[6], row[7], row[8] = r.Lane, r.Role, r.Device, r.PersonID
		row[9], row[10], row[11] = celsius(r.BodyC), celsius(r.RawC), celsius(r.AmbientC)
		row[12], row[13], row[14] = r.Verdict, r.Reason, strings.Join(r.Warnings, ";")
		row[15], row[16], row[17] = r.Round, strconv.FormatBool(r.Late), r.Ticket
	case event.KindCase:
		var c event.Case
		if err := ev.Decode(&c); err != nil {
			return nil, false, err
		}
		row[4], row[6], row[8] = c.Lane, c.Role, c.PersonID
		row[9], row[17], row[18], row[19] = celsius(c.FlagC), c.Ticket, c.State, celsius(c.RecheckC)
		row[20], row[21], row[22] = c.Disposition, c.Outcome, c.Actor
	default:
		return nil, false, nil
	}
	return row, true, nil
}

func celsius(c *float64) string {
	if c == nil {
		return ""
	}
	return strconv.FormatFloat(*c, 'f', 2, 64)
}

// ledgerLine is one line of the JSONL ledger.
type ledgerLine struct {
	Seq         uint64          `json:"seq"`
	Kind        string          `json:"kind"`
	Time        string          `json:"time"`
	ClockSynced bool            `json:"clock_synced"`
	Drill       bool            `json:"drill,omitempty"`
	BootID      string          `json:"boot_id,omitempty"`
	Body        json.RawMessage `json:"body"`
}

// ExportJSONL writes the same ledger as ExportCSV as JSON lines: one object
// per reading or case transition, with its payload as "body" and the time as
// RFC 3339 in loc (nil: UTC).
func ExportJSONL(w io.Writer, s *Store, from, to time.Time, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	err := s.Scan(from, to, func(ev event.Event) error {
		if ev.Kind != event.KindReading && ev.Kind != event.KindCase {
			return nil
		}
		return enc.Encode(ledgerLine{
			Seq: ev.Seq, Kind: ev.Kind.String(),
			Time:        time.Unix(0, ev.Wall).In(loc).Format(time.RFC3339Nano),
			ClockSynced: ev.ClockSynced, Drill: ev.Drill, BootID: ev.BootID, Body: ev.Body,
		})
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("storage: export jsonl: %w", err)
	}
	return nil
}
