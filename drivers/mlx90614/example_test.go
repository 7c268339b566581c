package mlx90614_test

import (
	"fmt"
	"log"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/gatescreen/gatescreen/drivers/mlx90614"
)

func ExampleDev_Sense() {
	// On the box the daemon opens the bus (i2creg.Open("1")); here a
	// playback of the two SMBus read words stands in for the sensor.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x5A, W: []byte{0x07}, R: []byte{0xD2, 0x3A, 0x30}}, // Tobj1 0x3AD2, PEC 0x30
		{Addr: 0x5A, W: []byte{0x06}, R: []byte{0x3C, 0x3A, 0xB3}}, // Ta 0x3A3C, PEC 0xB3
	}}
	dev, err := mlx90614.New(bus, nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := dev.Sense()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: object %.2f °C, ambient %.2f °C, invalid %v\n", dev, r.ObjectC, r.AmbientC, r.Flags.Invalid())
	// Output: mlx90614@0x5a: object 28.01 °C, ambient 25.01 °C, invalid false
}
