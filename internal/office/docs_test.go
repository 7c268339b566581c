package office

import (
	"os"
	"strings"
	"testing"
)

// docs/ledger.md describes every column of every register, in both
// languages, in the order the export writes them.
func TestLedgerDocsListEveryColumn(t *testing.T) {
	b, err := os.ReadFile("../../docs/ledger.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range registers {
		i := strings.Index(doc, "## "+r.zh+" "+r.en+"\n")
		if i < 0 {
			t.Errorf("docs/ledger.md has no section %q", "## "+r.zh+" "+r.en)
			continue
		}
		section := doc[i:]
		if j := strings.Index(section[3:], "\n## "); j >= 0 {
			section = section[:j+3]
		}
		at := 0
		for _, c := range r.cols {
			row := "| " + c.zh + " | " + c.en + " |"
			k := strings.Index(section[at:], row)
			if k < 0 {
				t.Errorf("%s: no row %q after the previous column", r.name, row)
				continue
			}
			at += k + len(row)
		}
	}
}
