package lineproto_test

import (
	"fmt"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/lineproto"
)

// A gate that prints Fahrenheit with its own alarm word.
func ExampleParser() {
	p, err := lineproto.NewParser(&drivers.LineOpts{
		Pattern: `^BODY (?P<temp>[\d.]+) (?P<alarm>OK|HIGH)$`,
		Unit:    "F",
	})
	if err != nil {
		panic(err)
	}
	for _, line := range []string{"BODY 97.7 OK", "BODY 100.4 HIGH", "E07"} {
		r, _ := p.Parse([]byte(line))
		fmt.Printf("%.1f alarm=%v invalid=%v\n", r.ObjectC, r.Flags&drivers.FlagAlarm != 0, r.Flags.Invalid())
	}
	// Output:
	// 36.5 alarm=false invalid=false
	// 38.0 alarm=true invalid=false
	// NaN alarm=false invalid=true
}
