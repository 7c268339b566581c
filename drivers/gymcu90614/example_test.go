package gymcu90614_test

import (
	"fmt"

	"github.com/gatescreen/gatescreen/drivers"
	"github.com/gatescreen/gatescreen/drivers/gymcu90614"
)

// The worked example of the GY-MCU90614 manual, arriving in two reads with a
// stray byte in front.
func ExampleDecoder() {
	var d gymcu90614.Decoder
	show := func(r drivers.Reading) {
		fmt.Printf("object %.2f °C, ambient %.2f °C, flags %d\n", r.ObjectC, r.AmbientC, r.Flags)
	}
	d.Feed([]byte{0x00, 0x5A, 0x5A, 0x45, 0x04, 0x0C}, show)
	d.Feed([]byte{0x78, 0x0D, 0x19, 0xA7}, show)
	// Output: object 31.92 °C, ambient 33.53 °C, flags 0
}
