package office

import (
	"cmp"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/storage"
	"github.com/gatescreen/gatescreen/sync/uplink"
)

// Identity modes of the ledger: who a row names.
const (
	// IdentityName writes 班级, 姓名 and the roster id: the default, since
	// the ledger is made on the box for the school.
	IdentityName = "name"
	// IdentityID writes the class and the roster id, no name.
	IdentityID = "id"
	// IdentityPseudonym writes the class and the uplink's pseudonym of the
	// roster id (uplink.pseudonym_key_file), as the district sees it.
	IdentityPseudonym = "pseudonym"
	// IdentityNone writes nobody.
	IdentityNone = "none"
)

// Formats of the ledger.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// Request is what a ledger export asks for: the companion command sends it
// to the daemon as a query, or writes it itself when no daemon runs.
type Request struct {
	From, To string // first and last local day, YYYY-MM-DD
	Format   string // csv or xlsx
	// Table is the register a CSV holds (one table per file): readings,
	// cases, absences or daily. An .xlsx holds them all, a sheet each.
	Table    string
	Identity string
	Lang     string
}

// Query encodes r for the local API.
func (r Request) Query() url.Values {
	return url.Values{"from": {r.From}, "to": {r.To}, "format": {r.Format}, "table": {r.Table},
		"identity": {r.Identity}, "lang": {r.Lang}}
}

// ParseRequest reads a Request from a query, with the defaults of
// `gatescreen export` for what is missing (the dates are not defaulted).
func ParseRequest(q url.Values) (Request, error) {
	r := Request{From: q.Get("from"), To: q.Get("to"), Format: q.Get("format"), Table: q.Get("table"),
		Identity: q.Get("identity"), Lang: q.Get("lang")}
	if r.Format == "" {
		r.Format = FormatCSV
	}
	if r.Table == "" {
		r.Table = TableReadings
	}
	if r.Identity == "" {
		r.Identity = IdentityName
	}
	if r.Lang == "" {
		r.Lang = LangZH
	}
	switch {
	case r.Format != FormatCSV && r.Format != FormatXLSX:
		return r, fmt.Errorf("-format %q: want csv, xlsx or jsonl", r.Format)
	case registerNamed(r.Table) == nil:
		return r, fmt.Errorf("-table %q: want readings, cases, absences or daily", r.Table)
	case r.Identity != IdentityName && r.Identity != IdentityID && r.Identity != IdentityPseudonym && r.Identity != IdentityNone:
		return r, fmt.Errorf("-identity %q: want name, id, pseudonym or none", r.Identity)
	}
	if _, err := newVocab(r.Lang); err != nil {
		return r, fmt.Errorf("-lang: %w", err)
	}
	return r, nil
}

// Store is what the ledger reads of the event store.
type Store interface {
	Scan(from, to time.Time, fn func(event.Event) error) error
	Daily(day string) (event.Daily, bool, error)
	Absences(day string) (map[string]storage.Absence, error)
}

// Ledger writes the registers of a span of days.
type Ledger struct {
	Store Store
	Sched *school.Schedule
	// Roster names the people (nil: ids only, no absences).
	Roster *school.Roster
	// Labels names the lanes (lanes[].label); a lane missing is shown by
	// its name.
	Labels map[string]string
	// PseudonymKey is the uplink's key, needed by IdentityPseudonym.
	PseudonymKey []byte
	// Now bounds today's absences: a grade counts as absent only once its
	// arrival window has closed.
	Now time.Time
}

// Write writes the ledger r asks for to w.
func (l *Ledger) Write(w io.Writer, r Request) error {
	from, err := l.Sched.ParseDay(r.From)
	if err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	to, err := l.Sched.ParseDay(r.To)
	if err != nil {
		return fmt.Errorf("-to: %w", err)
	}
	if to.Start.Before(from.Start) {
		return fmt.Errorf("-to %s is before -from %s", r.To, r.From)
	}
	if r.Identity == IdentityPseudonym && len(l.PseudonymKey) == 0 {
		return fmt.Errorf("-identity pseudonym needs uplink.pseudonym_key_file")
	}
	v, err := newVocab(r.Lang)
	if err != nil {
		return err
	}
	switch r.Format {
	case FormatCSV:
		return l.write(newCSVBook(v, map[string]io.Writer{r.Table: w}), v, r, from, to)
	case FormatXLSX:
		return l.writeXLSX(w, v, r, from, to)
	}
	return fmt.Errorf("-format %q: want csv or xlsx", r.Format)
}

func (l *Ledger) write(b book, v vocab, r Request, from, to school.Day) error {
	p := &pass{l: l, v: v, identity: r.Identity, cases: map[string]*caseRow{}}
	if err := p.run(b, from, to); err != nil {
		return fmt.Errorf("ledger %s–%s: %w", r.From, r.To, err)
	}
	return nil
}

// writeXLSX writes every register as CSV into a temporary file (mode 0600,
// removed at once: it holds names), then the workbook from them.
func (l *Ledger) writeXLSX(w io.Writer, v vocab, r Request, from, to school.Day) error {
	files, err := TempTables()
	if err != nil {
		return err
	}
	defer files.Remove()
	if err := l.write(newCSVBook(v, files.Writers()), v, r, from, to); err != nil {
		return err
	}
	return WriteXLSX(w, r.Lang, files.Open)
}

// Tables are temporary CSV files, one per register, from which WriteXLSX
// makes a workbook.
type Tables map[string]*os.File

// TempTables creates the files, empty.
func TempTables() (Tables, error) {
	t := Tables{}
	for _, r := range registers {
		f, err := os.CreateTemp("", "gatescreen-"+r.name+"-*.csv")
		if err != nil {
			t.Remove()
			return nil, err
		}
		t[r.name] = f
	}
	return t, nil
}

// Writers returns the files to write, by register name.
func (t Tables) Writers() map[string]io.Writer {
	out := map[string]io.Writer{}
	for name, f := range t {
		out[name] = f
	}
	return out
}

// Open rewinds a register's file for reading.
func (t Tables) Open(name string) (io.Reader, error) {
	f, ok := t[name]
	if !ok {
		return nil, fmt.Errorf("no table %q", name)
	}
	_, err := f.Seek(0, io.SeekStart)
	return f, err
}

// Remove closes and deletes the files.
func (t Tables) Remove() {
	for _, f := range t {
		f.Close()
		os.Remove(f.Name())
	}
}

// pass is one walk over the days of a ledger.
type pass struct {
	l        *Ledger
	v        vocab
	identity string
	cases    map[string]*caseRow // by day and ticket
	order    []string            // case keys in the order they opened
	absences [][]any
	days     [][]any
}

type caseRow struct {
	c       event.Case
	updated time.Time
}

func (p *pass) run(b book, from, to school.Day) error {
	readings, err := b.begin(&readingsRegister)
	if err != nil {
		return err
	}
	for day := from; !day.Start.After(to.Start); day = p.l.Sched.DayOf(day.End) {
		if err := p.day(day, readings); err != nil {
			return err
		}
	}
	if err := readings.end(); err != nil {
		return err
	}
	var rows [][]any
	for _, k := range p.order {
		rows = append(rows, p.caseCells(p.cases[k]))
	}
	for _, t := range []struct {
		reg  *register
		rows [][]any
	}{{&casesRegister, rows}, {&absencesRegister, p.absences}, {&dailyRegister, p.days}} {
		s, err := b.begin(t.reg)
		if err != nil {
			return err
		}
		for _, row := range t.rows {
			if err := s.row(row); err != nil {
				return err
			}
		}
		if err := s.end(); err != nil {
			return err
		}
	}
	return b.close()
}

// day scans one day's events: its readings go out as they come, its cases,
// absences and summary are kept for their registers.
func (p *pass) day(day school.Day, readings sheet) error {
	t := school.NewTally(day, p.l.Roster, p.l.Sched)
	err := p.l.Store.Scan(day.Start, day.End, func(ev event.Event) error {
		if err := t.Add(ev); err != nil {
			return err
		}
		switch ev.Kind {
		case event.KindReading:
			var r event.Reading
			if err := ev.Decode(&r); err != nil {
				return err
			}
			return readings.row(p.readingCells(&ev, &r))
		case event.KindCase:
			var c event.Case
			if err := ev.Decode(&c); err != nil {
				return err
			}
			c.Drill = ev.Drill
			k := c.Day + "/" + c.Ticket
			if p.cases[k] == nil {
				p.order = append(p.order, k)
			}
			p.cases[k] = &caseRow{c: c, updated: p.local(ev.Wall)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	at := p.l.Now
	if at.After(day.End) {
		at = day.End
	}
	if at.Before(day.Start) {
		return nil // a day still to come has nothing to say
	}
	recs, err := p.l.Store.Absences(day.Date)
	if err != nil {
		return err
	}
	t.SetAbsenceNotes(AbsenceNotes(recs))
	p.absenceRows(day, t.Absentees(at), recs)
	stored, ok, err := p.l.Store.Daily(day.Date)
	if err != nil {
		return err
	}
	p.days = append(p.days, p.dayCells(day, stored, ok, t.Report(at)))
	return nil
}

// AbsenceNotes is the tally's view of the stored absence records.
func AbsenceNotes(recs map[string]storage.Absence) map[string]school.AbsenceNote {
	notes := make(map[string]school.AbsenceNote, len(recs))
	for id, a := range recs {
		notes[id] = school.AbsenceNote{Reason: a.Reason, Symptoms: a.Symptoms, SeenDoctor: a.SeenDoctor}
	}
	return notes
}

// local is a stored wall time on the school's clock.
func (p *pass) local(wall int64) time.Time { return time.Unix(0, wall).In(p.l.Sched.Location()) }

// person returns the class, name and id cells of a roster id, as the
// identity mode allows.
func (p *pass) person(id string) (class, name, ref string) {
	if p.identity == IdentityNone || id == "" {
		return "", "", ""
	}
	if person, ok := p.l.Roster.ByID(id); ok {
		class, name = person.Class, person.Name
	}
	switch p.identity {
	case IdentityID:
		return class, "", id
	case IdentityPseudonym:
		return class, "", uplink.Pseudonym(p.l.PseudonymKey, id)
	}
	return class, name, id
}

func (p *pass) readingCells(ev *event.Event, r *event.Reading) []any {
	at := p.local(ev.Wall)
	class, name, ref := p.person(r.PersonID)
	return []any{
		at, at, p.v.code(r.Round), label(p.l.Labels, r.Lane), p.v.code(r.Role),
		class, name, ref, temp(r.BodyC), p.abnormal(r.Verdict), p.v.code(r.Verdict), p.v.code(r.Reason),
		p.action(r), r.Ticket, p.v.yes(r.Late), p.checkedBy(r.Device), temp(r.RawC), temp(r.AmbientC),
		p.v.codes(r.Warnings), p.v.yes(ev.ClockSynced), p.v.yes(ev.Drill), int64(ev.Seq),
	}
}

// checkedBy is 检查人: at the gate the thermometer measures, named by its
// devices[].name (the re-check's checker is the case's 操作人).
func (p *pass) checkedBy(device string) string {
	if device == "" {
		return ""
	}
	return p.v.text("测温设备 "+device, device)
}

// abnormal is 是否异常: yes for a flag, no for a pass, empty when nobody
// was measured (retake, invalid).
func (p *pass) abnormal(verdict string) string {
	switch verdict {
	case event.VerdictFlag:
		return p.v.yes(true)
	case event.VerdictPass:
		return p.v.yes(false)
	}
	return ""
}

// action is 处理措施: what was done about the reading.
func (p *pass) action(r *event.Reading) string {
	switch r.Verdict {
	case event.VerdictFlag:
		return p.v.text("送复检区 "+r.Ticket, "re-check "+r.Ticket)
	case event.VerdictRetake, event.VerdictInvalid:
		return p.v.text("重新测温", "measure again")
	}
	return ""
}

func (p *pass) caseCells(cr *caseRow) []any {
	c := &cr.c
	day, _ := p.l.Sched.ParseDay(c.Day) // a case's day is the date it opened
	var opened any
	if c.OpenedAt != 0 {
		opened = p.local(int64(c.OpenedAt))
	}
	var contact string
	if c.ContactHistory != nil {
		contact = p.v.text(map[bool]string{true: "有", false: "无"}[*c.ContactHistory], fmt.Sprint(*c.ContactHistory))
	}
	class, name, ref := p.person(c.PersonID)
	return []any{
		day.Start, c.Ticket, opened, label(p.l.Labels, c.Lane), p.v.code(c.Role), class, name, ref,
		temp(c.FlagC), temp(c.RecheckC), p.v.code(c.State), contact, p.v.code(c.Disposition), c.Outcome,
		p.v.actor(c.Actor, p.l.Labels), cr.updated, p.v.yes(c.Drill),
	}
}

func (p *pass) absenceRows(day school.Day, byClass map[string][]school.Person, recs map[string]storage.Absence) {
	var people []school.Person
	for _, list := range byClass {
		people = append(people, list...)
	}
	slices.SortFunc(people, func(a, b school.Person) int {
		return cmp.Or(cmp.Compare(a.Grade, b.Grade), cmp.Compare(a.Class, b.Class), cmp.Compare(a.ID, b.ID))
	})
	for _, person := range people {
		class, name, ref := p.person(person.ID)
		if p.identity == IdentityNone {
			class = person.Class // a count per class names nobody
		}
		a, ok := recs[person.ID]
		reason, symptoms, doctor := p.v.text("未登记", school.Unrecorded), "", ""
		if ok {
			reason, symptoms = p.v.code(a.Reason), p.v.codes(a.Symptoms)
			if a.Reason == storage.AbsenceIllness {
				doctor = p.v.yes(a.SeenDoctor)
			}
		}
		// The class teacher's note is free text that names people and
		// illnesses: it goes only where names do.
		note := a.Note
		if p.identity != IdentityName {
			note = ""
		}
		p.absences = append(p.absences, []any{day.Start, person.Grade, class, name, ref, reason, symptoms, doctor, note})
	}
}

// dayCells is the summary of a day: the report that was sent when there is
// one (what the district has), else the tally so far.
func (p *pass) dayCells(day school.Day, stored event.Daily, sent bool, tally event.Daily) []any {
	r, state := tally, p.v.text("统计中", "in progress")
	var visitors any // only the sent report counted the visitor book
	if sent {
		r, state, visitors = stored, p.v.text("已上报", "sent"), int64(stored.Visitors)
	}
	cases := 0
	for _, n := range r.Cases {
		cases += n
	}
	return []any{day.Start, int64(r.Totals.Total), int64(r.Totals.Pass), int64(r.Totals.Flag),
		int64(r.Totals.Retake), int64(r.Totals.Invalid), int64(cases), int64(r.Cases[event.CaseCleared]),
		int64(r.Absentees), int64(r.AbsenceReasons[storage.AbsenceIllness]), visitors, int64(r.Drills.Total), p.v.yes(r.Zero), state}
}

// temp is a temperature cell; nil (not measured) stays empty.
func temp(c *float64) any {
	if c == nil {
		return nil
	}
	return *c
}
