package sim_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gatescreen/gatescreen/drivers/sim"
)

// The demo starts the embedded scenario and hands the device configs to the
// daemon, which opens the pseudo-terminals and I²C buses they name.
func ExampleStart() {
	g, err := sim.Start(context.Background(), sim.DefaultScenario(), sim.Opts{})
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	for _, d := range g.Devices() {
		fmt.Printf("%-11s %-10s mode=%-4s serial=%v i2c=%v\n", d.Name, d.Driver, d.Mode, d.Port != "", d.Bus != "")
	}
	// Output:
	// lane1-ir    gymcu90614 mode=skin serial=true i2c=false
	// lane1-badge badge      mode=     serial=true i2c=false
	// lane2-ir    gymcu90614 mode=skin serial=true i2c=false
	// lane2-badge badge      mode=     serial=true i2c=false
	// staff-gate  lineproto  mode=body serial=true i2c=false
	// lane3-array mlx90640   mode=skin serial=false i2c=true
	// visitor-mlx mlx90614   mode=skin serial=false i2c=true
}
