package all

import (
	"testing"

	"github.com/gatescreen/gatescreen/drivers"
)

// Every protocol the configuration documents is linked into the binary.
func TestEveryDriverRegistered(t *testing.T) {
	for _, name := range []string{"amg8833", "badge", "gymcu90614", "lineproto", "mlx90614", "mlx90640", "modbusir"} {
		d, ok := drivers.Lookup(name)
		if !ok {
			t.Errorf("driver %q not registered (have %v)", name, drivers.Names())
			continue
		}
		if d.Transport != drivers.Serial && d.Transport != drivers.I2C {
			t.Errorf("driver %q has no transport", name)
		}
	}
}
