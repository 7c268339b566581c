package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/internal/config"
	"github.com/gatescreen/gatescreen/internal/localapi"
	"github.com/gatescreen/gatescreen/internal/office"
	"github.com/gatescreen/gatescreen/internal/school"
	"github.com/gatescreen/gatescreen/storage"
)

func init() {
	commands["export"] = command{"write the screening ledger (台账): gatescreen export -from DATE -to DATE -format csv|xlsx|jsonl [-table T] [-identity I]", runExport}
	commands["report"] = command{"the daily report of a day: gatescreen report -date YYYY-MM-DD [-format json|text|html|xlsx]", runReport}
	commands["drill"] = command{"send a simulated flagged person through a lane: gatescreen drill -lane NAME", runDrill}
	commands["calibrate"] = command{"calibrate a skin sensor against a reference source: gatescreen calibrate -device D -reference 37.0", runCalibrate}
	commands["absence"] = command{"follow up absences (因病缺勤追踪): gatescreen absence list | absence record -id ID -reason illness -symptoms fever", runAbsence}
	commands["roster"] = command{"import the roster: gatescreen roster import [-dry-run] [-replace] FILE.csv (merged by id)", runRoster}
}

// companion is what every companion command needs: the configuration, and
// the daemon's local API when it runs.
type companion struct {
	cfg    *config.Config
	client *localapi.Client
}

func loadCompanion(path string) (*companion, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return &companion{cfg: cfg, client: localapi.NewClient(localapi.SocketPath(cfg.Storage.Path))}, nil
}

// location is the school's time zone, which names its days.
func (c *companion) location() (*time.Location, error) {
	loc, err := time.LoadLocation(c.cfg.Site.Timezone)
	if err != nil {
		return nil, fmt.Errorf("site.timezone: %w", err)
	}
	return loc, nil
}

// today is the school's current day. The system zone of the box does not
// name it: a box kept on UTC would otherwise ask for yesterday between
// midnight and 08:00 in Shanghai.
func (c *companion) today() (string, error) {
	loc, err := c.location()
	if err != nil {
		return "", err
	}
	now, err := testNow()
	if err != nil {
		return "", err
	}
	return now.In(loc).Format(time.DateOnly), nil
}

// offline opens the store directly: only when no daemon holds it.
func (c *companion) offline() (*storage.Store, *school.Schedule, error) {
	loc, err := c.location()
	if err != nil {
		return nil, nil, err
	}
	sched, err := school.NewSchedule(c.cfg.School.Calendar(), loc)
	if err != nil {
		return nil, nil, err
	}
	st, err := storage.Open(c.cfg.Storage.Path, storage.Opts{LockTimeout: time.Second})
	if err != nil {
		return nil, nil, err
	}
	return st, sched, nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	path := fs.String("config", defaultConfig, "configuration file of the gate")
	var req office.Request
	fs.StringVar(&req.From, "from", "", "first local day, YYYY-MM-DD (default today)")
	fs.StringVar(&req.To, "to", "", "last local day, YYYY-MM-DD (default -from)")
	fs.StringVar(&req.Format, "format", office.FormatCSV, "csv (one register, UTF-8 with BOM, opens in Excel), xlsx (a sheet per register) or jsonl (the stored events)")
	fs.StringVar(&req.Table, "table", office.TableReadings, "the register a CSV holds: readings (晨午检登记表), cases (复检处置), absences (缺勤) or daily (每日汇总)")
	fs.StringVar(&req.Identity, "identity", office.IdentityName, "who the rows name: name (班级, 姓名, 编号), id, pseudonym (as uploaded) or none")
	fs.StringVar(&req.Lang, "lang", office.LangZH, "language of headers and values: zh-CN or en")
	out := fs.String("o", "-", "output file; - is standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	jsonl := req.Format == "jsonl"
	if !jsonl {
		if _, err := office.ParseRequest(req.Query()); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	c, err := loadCompanion(*path)
	if err != nil {
		return err
	}
	if req.From == "" {
		if req.From, err = c.today(); err != nil {
			return err
		}
	}
	if req.To == "" {
		req.To = req.From
	}
	// Before the output file exists: a reversed range gave an empty file
	// and exit 0, which looks like a day nobody was screened.
	if err := checkDayRange(req.From, req.To); err != nil {
		return err
	}
	w, done, err := output(*out, stdout)
	if err != nil {
		return err
	}
	switch {
	case jsonl:
		q := url.Values{"from": {req.From}, "to": {req.To}, "format": {req.Format}}
		err = c.client.Do(ctx, "GET", "/v1/export", q, w)
	case req.Format == office.FormatXLSX:
		err = c.exportXLSX(ctx, w, req)
	default:
		err = c.client.Do(ctx, "GET", "/v1/export", req.Query(), w)
	}
	if errors.Is(err, localapi.ErrNotRunning) {
		err = c.exportOffline(w, req)
	}
	return done(err)
}

// exportXLSX asks the running daemon for every register as CSV and makes
// the workbook here: excelize's memory stays out of the gate's process.
func (c *companion) exportXLSX(ctx context.Context, w io.Writer, req office.Request) error {
	files, err := office.TempTables()
	if err != nil {
		return err
	}
	defer files.Remove()
	for name, f := range files.Writers() {
		r := req
		r.Format, r.Table = office.FormatCSV, name
		if err := c.client.Do(ctx, "GET", "/v1/export", r.Query(), f); err != nil {
			return err
		}
	}
	return office.WriteXLSX(w, req.Lang, files.Open)
}

// checkDayRange refuses days that are not YYYY-MM-DD and a -to before -from.
func checkDayRange(from, to string) error {
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return fmt.Errorf("%w: -from %q: want YYYY-MM-DD", errUsage, from)
	}
	t, err := time.Parse(time.DateOnly, to)
	if err != nil {
		return fmt.Errorf("%w: -to %q: want YYYY-MM-DD", errUsage, to)
	}
	if t.Before(f) {
		return fmt.Errorf("%w: -to %s is before -from %s", errUsage, to, from)
	}
	return nil
}

func (c *companion) exportOffline(w io.Writer, req office.Request) error {
	st, sched, err := c.offline()
	if err != nil {
		return err
	}
	defer st.Close()
	if req.Format == "jsonl" {
		f, err := sched.ParseDay(req.From)
		if err != nil {
			return fmt.Errorf("-from: %w", err)
		}
		t, err := sched.ParseDay(req.To)
		if err != nil {
			return fmt.Errorf("-to: %w", err)
		}
		return storage.ExportJSONL(w, st, f.Start, t.End, sched.Location())
	}
	ro, err := school.LoadRosterIfAny(c.cfg.School.Roster)
	if err != nil {
		return err
	}
	now, err := testNow()
	if err != nil {
		return err
	}
	l := &office.Ledger{Store: st, Sched: sched, Roster: ro, Labels: c.cfg.LaneLabels(), Now: now}
	if req.Identity == office.IdentityPseudonym {
		secrets, err := c.cfg.ReadSecrets()
		if err != nil {
			return err
		}
		l.PseudonymKey = secrets.PseudonymKey
	}
	return l.Write(w, req)
}

// output opens the -o target; done closes it and reports a failed write.
//
// A file is written as "<path>.partial", mode 0600 (a ledger names people),
// and renamed to path by done(nil) once complete and on disk; done(err)
// removes it, so a failed export never leaves a file that looks whole.
func output(path string, stdout io.Writer) (io.Writer, func(failed error) error, error) {
	if path == "-" {
		return stdout, func(failed error) error { return failed }, nil
	}
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return f, func(failed error) error {
		err := failed
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			_ = os.Remove(tmp)
			return err
		}
		return storage.SyncDir(filepath.Dir(path)) // the rename itself on disk
	}, nil
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	path := fs.String("config", defaultConfig, "configuration file of the gate")
	date := fs.String("date", "", "local day, YYYY-MM-DD (default today)")
	format := fs.String("format", "json", "json (as uploaded), text, html (prints on one A4 page, to sign) or xlsx")
	lang := fs.String("lang", office.LangZH, "language of text, html and xlsx: zh-CN or en")
	out := fs.String("o", "-", "output file; - is standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *format {
	case "json", office.ReportText, office.ReportHTML, office.ReportXLSX:
	default:
		return fmt.Errorf("%w: -format %q: want json, text, html or xlsx", errUsage, *format)
	}
	if *lang != office.LangZH && *lang != office.LangEN {
		return fmt.Errorf("%w: -lang %q: want zh-CN or en", errUsage, *lang)
	}
	c, err := loadCompanion(*path)
	if err != nil {
		return err
	}
	rep, err := c.daily(ctx, *date)
	if err != nil {
		return err
	}
	w, done, err := output(*out, stdout)
	if err != nil {
		return err
	}
	if *format == "json" {
		return done(printJSON(w, rep))
	}
	loc, err := c.location()
	if err != nil {
		return done(err)
	}
	now, err := testNow()
	if err != nil {
		return done(err)
	}
	if rep.LaneLabels == nil { // stored before reports named the lanes
		rep.LaneLabels = c.cfg.LaneLabels()
	}
	r := office.Report{Daily: rep, School: c.cfg.Site.School, Gate: c.cfg.Site.Gate, Made: now.In(loc), Lang: *lang}
	return done(office.WriteReport(w, *format, r))
}

// daily is the report of date (default today): the running daemon's (the
// one sent, or today so far), else the one stored.
func (c *companion) daily(ctx context.Context, date string) (event.Daily, error) {
	var rep event.Daily
	var buf bytes.Buffer
	err := c.client.Do(ctx, "GET", "/v1/report", url.Values{"date": {date}}, &buf)
	if err == nil {
		if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
			return rep, fmt.Errorf("the daemon's report: %w", err)
		}
		return rep, nil
	}
	if !errors.Is(err, localapi.ErrNotRunning) {
		return rep, err
	}
	st, _, err := c.offline()
	if err != nil {
		return rep, err
	}
	defer st.Close()
	if date == "" {
		if date, err = c.today(); err != nil {
			return rep, err
		}
	}
	rep, ok, err := st.Daily(date)
	if err != nil {
		return rep, err
	}
	if !ok {
		return rep, fmt.Errorf("no report stored for %s; start the daemon to tally a day in progress", date)
	}
	return rep, nil
}

func runDrill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("drill", stderr)
	path := fs.String("config", defaultConfig, "configuration file of the gate")
	lane := fs.String("lane", "", "lane to run the drill on")
	temp := fs.Float64("temp", 38.2, "body temperature of the simulated person, °C")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *lane == "" {
		return fmt.Errorf("%w: drill needs -lane", errUsage)
	}
	c, err := loadCompanion(*path)
	if err != nil {
		return err
	}
	q := url.Values{"lane": {*lane}, "temp": {strconv.FormatFloat(*temp, 'f', 1, 64)}}
	return c.client.Do(ctx, "POST", "/v1/drill", q, stdout)
}

func runCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("calibrate", stderr)
	path := fs.String("config", defaultConfig, "configuration file of the gate")
	device := fs.String("device", "", "device to calibrate (devices[].name)")
	ref := fs.Float64("reference", 0, "temperature of the reference source (blackbody), °C")
	samples := fs.Int("samples", school.MinCalibrationSamples, "readings of the reference to average; present the source once per reading")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	undo := fs.Bool("undo", false, "withdraw the device's last calibration and restore the one before it")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *undo {
		if *device == "" || *ref != 0 {
			return fmt.Errorf("%w: calibrate -undo needs -device and no -reference", errUsage)
		}
		c, err := loadCompanion(*path)
		if err != nil {
			return err
		}
		return c.client.Do(ctx, "POST", "/v1/calibrate/undo", url.Values{"device": {*device}}, stdout)
	}
	if *device == "" || *ref == 0 {
		return fmt.Errorf("%w: calibrate needs -device and -reference", errUsage)
	}
	c, err := loadCompanion(*path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "present the reference source to %s %d times…\n", *device, *samples)
	q := url.Values{"device": {*device}, "reference": {strconv.FormatFloat(*ref, 'f', -1, 64)},
		"samples": {strconv.Itoa(*samples)}, "timeout": {timeout.String()}}
	return c.client.Do(ctx, "POST", "/v1/calibrate", q, stdout)
}

func runRoster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		return fmt.Errorf("%w: gatescreen roster import [-config FILE] [-dry-run] [-replace] FILE.csv", errUsage)
	}
	fs := newFlagSet("roster import", stderr)
	path := fs.String("config", defaultConfig, "configuration file of the gate (school.roster names where the roster is kept)")
	dryRun := fs.Bool("dry-run", false, "check the file and show what would change (added, removed, changed), change nothing")
	replace := fs.Bool("replace", false, "replace the whole roster: people not in the file are removed (default: merge by id)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: roster import takes one FILE.csv", errUsage)
	}
	c, err := loadCompanion(*path)
	if err != nil {
		return err
	}
	kept := c.cfg.School.Roster
	if kept == "" {
		return fmt.Errorf("%w: %s: school.roster is not set, so there is nowhere to keep the roster", config.ErrInvalid, *path)
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	cur, err := school.LoadRosterIfAny(kept)
	if err != nil && !*replace { // what is replaced need not be readable
		return fmt.Errorf("the roster in force cannot be read (import with -replace to replace it): %w", err)
	}
	// Every line is checked, and the merge too, before anything changes.
	merged, diff, err := school.Import(cur, fs.Arg(0), data, *replace)
	if err != nil {
		return rosterRefused(stderr, err)
	}
	fmt.Fprintf(stdout, "roster %s (%s): %d added, %d removed, %d changed, %d unchanged; %d people, %d grades\n",
		fs.Arg(0), merged.Encoding, diff.Added, diff.Removed, diff.Changed, diff.Unchanged, len(merged.People), len(merged.Grades()))
	if *dryRun {
		fmt.Fprintln(stdout, "dry run: nothing was changed")
		return nil
	}
	if err := keepRoster(kept, merged); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "kept in %s\n", kept)
	err = c.client.Do(ctx, "POST", "/v1/roster/reload", nil, stdout)
	if errors.Is(err, localapi.ErrNotRunning) {
		fmt.Fprintln(stdout, "the daemon is not running; it reads the roster when it starts")
		return nil
	}
	return err
}

// rosterRefused prints every mistake of an import, one a line, and says
// that nothing changed.
func rosterRefused(stderr io.Writer, err error) error {
	n := 1
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		n = len(j.Unwrap())
	}
	fmt.Fprintln(stderr, err)
	fmt.Fprintf(stderr, "roster import: %d error(s); the roster was not changed\n", n)
	return reportedError{err}
}

// keepRoster replaces the kept roster at once (write, then rename). Names
// stay on the box: the copy is readable by the daemon only.
func keepRoster(path string, ro *school.Roster) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := ro.WriteCSV(&buf); err != nil {
		return err
	}
	// The daemon reads it as its own user: the kept roster takes the owner
	// and mode of the one it replaces, else the directory's group (the
	// package makes /etc/gatescreen root:gatescreen) and 0640. Root's 0600
	// file stopped the daemon at its next start.
	uid, gid, mode := os.Getuid(), -1, os.FileMode(0o640)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	} else if fi, err := os.Stat(filepath.Dir(path)); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			gid = int(st.Gid)
		}
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Chmod(mode) // the umask may have narrowed it
	}
	if err == nil && (uid != os.Getuid() || gid >= 0) {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		err = f.Sync() // a power cut must not leave an empty roster
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("keep the roster %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return storage.SyncDir(filepath.Dir(path))
}

func runAbsence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "gatescreen absence list [-date D] | absence record -id ID -reason illness|personal_leave|unknown [-symptoms fever,cough,other] [-seen-doctor] [-note TEXT] [-date D]"
	if len(args) == 0 || (args[0] != "list" && args[0] != "record") {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := newFlagSet("absence "+args[0], stderr)
	path := fs.String("config", defaultConfig, "configuration file of the gate")
	date := fs.String("date", "", "local day, YYYY-MM-DD (default today)")
	var id, reason, symptoms, note, by *string
	var seen *bool
	if args[0] == "record" {
		id = fs.String("id", "", "roster id of the absent student")
		reason = fs.String("reason", "", "illness (因病), personal_leave (事假) or unknown (原因不明)")
		symptoms = fs.String("symptoms", "", "for illness: fever, cough, other, comma-separated")
		seen = fs.Bool("seen-doctor", false, "for illness: a doctor saw the student")
		note = fs.String("note", "", "a note, e.g. how the family was reached")
		by = fs.String("by", "teacher", "who records it: teacher or doctor")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	c, err := loadCompanion(*path)
	if err != nil {
		return err
	}
	q := url.Values{"date": {*date}}
	if args[0] == "list" {
		var buf bytes.Buffer
		if err := c.client.Do(ctx, "GET", "/v1/absences", q, &buf); err != nil {
			return err
		}
		var list []struct {
			PersonID    string `json:"person_id"`
			Name, Class string
			Since       string
			Today, Last *storage.Absence
		}
		if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
			return fmt.Errorf("the daemon's absences: %w", err)
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "无缺勤 · no absentees")
			return nil
		}
		for _, a := range list {
			state := "未登记 · not recorded"
			switch {
			case a.Today != nil:
				state = office.Chinese(a.Today.Reason) + " " + a.Today.Reason + " " + strings.Join(a.Today.Symptoms, ",")
			case a.Last != nil:
				state = "今日未登记 · not recorded today; last: " + a.Last.Day + " " + office.Chinese(a.Last.Reason) + " " + a.Last.Reason
			}
			fmt.Fprintf(stdout, "%-8s %-12s %-8s since %s  %s\n", a.PersonID, a.Class, a.Name, a.Since, strings.TrimSpace(state))
		}
		return nil
	}
	if *id == "" || *reason == "" {
		return fmt.Errorf("%w: absence record needs -id and -reason", errUsage)
	}
	q.Set("id", *id)
	q.Set("reason", *reason)
	q.Set("symptoms", *symptoms)
	q.Set("seen_doctor", strconv.FormatBool(*seen))
	q.Set("note", *note)
	q.Set("by", *by)
	return c.client.Do(ctx, "POST", "/v1/absences", q, stdout)
}
