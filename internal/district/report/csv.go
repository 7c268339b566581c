package report

import (
	"bufio"
	"encoding/csv"
	"io"
)

// utf8BOM makes Excel open a CSV as UTF-8, so the Chinese is readable.
const utf8BOM = "\uFEFF"

// WriteCSV writes the summary as CSV (RFC 4180, UTF-8 with a BOM): one
// header row of "中文 english" names, then a row per school, dates as
// YYYY-MM-DD and times as YYYY-MM-DD hh:mm:ss in the district's time.
func (s *Summary) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	rec := make([]string, len(columns))
	for i, c := range columns {
		rec[i] = c.zh + " " + c.en
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, r := range s.Rows {
		for i, v := range s.cells(r) {
			rec[i] = format(columns[i].kind, v)
			if columns[i].kind == text && formulaLike(rec[i]) {
				rec[i] = "'" + rec[i]
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
