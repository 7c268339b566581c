package lamps_test

import (
	"fmt"
	"log"

	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/gatescreen/gatescreen/lamps"
	"github.com/gatescreen/gatescreen/pipeline"
)

func Example() {
	// Without hardware (the demo), in-memory pins stand in for the lane's
	// GPIOs; on the box the pins come from outputs[] in the configuration.
	pins, err := lamps.RegisterSimPins("example")
	if err != nil {
		log.Fatal(err)
	}
	lamps, err := lamps.New(&lamps.Opts{Lane: "example", Pins: pins})
	if err != nil {
		log.Fatal(err)
	}
	defer lamps.Close()
	red := gpioreg.ByName(pins.Red)

	lamps.Consume(&pipeline.Measurement{Verdict: pipeline.VerdictFlag})
	fmt.Println(pins.Red, "after a flag:", red.Read())
	lamps.ResolveFlag() // the school doctor cleared the case
	fmt.Println(pins.Red, "after the case is cleared:", red.Read())
	// Output:
	// SIM_EXAMPLE_RED after a flag: High
	// SIM_EXAMPLE_RED after the case is cleared: Low
}
