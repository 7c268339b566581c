// Package drivers holds what every device driver shares: the Reading value a
// device produces, the Source interface a driver implements, the device
// configuration, and a registry of drivers by name.
//
// Drivers take an already opened serial port or I²C bus; they never open one
// themselves. Opening, reconnecting with backoff and health tracking are done
// around them by drivers/runner, so a driver is a parser with a read loop and
// is tested by handing it a pseudo-terminal or periph's i2ctest.Playback.
//
// One package per protocol lives below this one (gymcu90614, mlx90614,
// mlx90640, amg8833, modbusir, lineproto, badge), beside thermal (thermal
// array frames to one measurement per person), runner and sim (the simulated
// gate). Each protocol package registers itself from init; the daemon links
// them all through drivers/all.
package drivers
