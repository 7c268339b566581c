package badge_test

import (
	"fmt"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/badge"
)

func ExampleNormalize() {
	var uid [drivers.MaxFrame]byte
	for _, line := range []string{"\x0204a1b2c3\x03", "04:A1:B2:C3", "0012345678", "NO CARD"} {
		n, ok := badge.Normalize([]byte(line), &uid)
		fmt.Printf("%q %v\n", uid[:n], ok)
	}
	// Output:
	// "04A1B2C3" true
	// "04A1B2C3" true
	// "0012345678" true
	// "" false
}
