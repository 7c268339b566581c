package school

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Diff counts what importing a roster file changes.
type Diff struct {
	Added, Removed, Changed, Unchanged int
}

// Import checks the roster file name (data) against the roster in force,
// cur (nil: none yet), and returns the roster importing it gives and what
// changes. People are matched by id: the file's entry adds or replaces
// one; with replace, people of cur that the file lacks are removed, else
// they stay. Every mistake is returned at once, in line order — the
// file's own and those of the merge (a card held by two people) — so
// nothing need change until the file is right.
func Import(cur *Roster, name string, data []byte, replace bool) (*Roster, Diff, error) {
	next, errs := parseRoster(name, data)
	if next == nil {
		return nil, Diff{}, errors.Join(errs...)
	}
	merged, d, merrs := merge(cur, next, replace)
	errs = append(errs, merrs...)
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b error) int { return cmp.Compare(lineOfErr(a), lineOfErr(b)) })
		return nil, d, errors.Join(errs...)
	}
	return merged, d, nil
}

func lineOfErr(err error) int {
	var le *LineError
	if errors.As(err, &le) {
		return le.Line
	}
	return 0
}

// merge is Import's merge of next, the right lines of the file, over cur.
func merge(cur, next *Roster, replace bool) (*Roster, Diff, []error) {
	var d Diff
	out := &Roster{Encoding: next.Encoding, file: next.file, byID: map[string]int{}, byCard: map[string]int{}}
	put := func(p Person, line int) {
		out.byID[p.ID] = len(out.People)
		out.People = append(out.People, p)
		out.lines = append(out.lines, line)
	}
	if cur != nil {
		for _, p := range cur.People {
			n, ok := next.ByID(p.ID)
			switch {
			case ok && n == p:
				d.Unchanged++
			case ok:
				d.Changed++
				p = n
			case replace:
				d.Removed++
				continue
			}
			put(p, next.lineOfID(p.ID))
		}
	}
	for i, p := range next.People {
		if _, ok := out.byID[p.ID]; !ok {
			d.Added++
			put(p, next.lines[i])
		}
	}
	var errs []error
	for i, p := range out.People {
		if p.Card == "" {
			continue
		}
		if j, dup := out.byCard[p.Card]; dup {
			// One of the two comes from next (cur's cards were unique):
			// name its line.
			a, b := out.People[j], p
			line := out.lines[i]
			if line == 0 {
				a, b, line = b, a, out.lines[j]
			}
			errs = append(errs, &LineError{File: next.file, Line: line, Field: "card_uid", Value: p.Card,
				Msg: fmt.Sprintf("is the card of %s (%s) already in the roster, given here to %s", a.ID, a.Name, b.ID)})
			continue
		}
		out.byCard[p.Card] = i
	}
	return out, d, errs
}

// lineOfID is the file line of id, 0 when it is not in this roster.
func (ro *Roster) lineOfID(id string) int {
	if i, ok := ro.byID[id]; ok {
		return ro.lines[i]
	}
	return 0
}

// WriteCSV writes the roster as the box keeps it: UTF-8 with BOM, Chinese
// headers, one person a line; ParseRoster reads it back unchanged.
func (ro *Roster) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	if err := cw.Write([]string{"学号", "姓名", "班级", "年级", "角色", "卡号"}); err != nil {
		return err
	}
	for _, p := range ro.People {
		if err := cw.Write([]string{p.ID, p.Name, p.Class, p.Grade, p.Role, p.Card}); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
