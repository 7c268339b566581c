// Package mlx90640 reads a Melexis MLX90640 32×24 thermal array on an I²C
// bus that the daemon has already opened, and converts its frames to object
// temperatures with the datasheet's full compensation.
//
// New reads the whole EEPROM once (832 words at 0x2400, one transaction),
// restores the calibration parameters and writes the refresh rate and the
// reading pattern (chess, the factory calibration's, or interleaved) into
// the control register. ReadFrame waits for the status register's new-data
// bit, acknowledges it, reads the RAM (832 words at 0x0400) and re-reads it
// if the sensor finished another subpage meanwhile; then it computes the
// half of the pixels that subpage measured.
//
// # Datasheet
//
// MLX90640 datasheet (Melexis 3901090640), §11 "Calculating object
// temperature": supply voltage from kVdd and Vdd25 with the ADC resolution
// correction; ambient Ta from VPTAT and VBE with αPTAT, KvPTAT, KtPTAT;
// per pixel the gain, the offset with Kta(Ta − 25) and Kv(Vdd − 3.3), the
// interleave/chess correction when the pattern differs from the
// calibration's, emissivity, the thermal gradient compensation (TGC) with
// the compensation pixel of the subpage, the sensitivity α with KsTa, the
// basic To with KsTo and the reflected temperature, and then the extended
// calculation in the range of that To (corner temperatures −40, 0, CT3,
// CT4 °C, each with its own KsTo and sensitivity correction). Registers:
// status 0x8000 (bit 0 subpage, bit 3 new data), control 0x800D (bits 9:7
// refresh rate, 11:10 resolution, 12 chess). Words are big-endian and
// addresses 16-bit.
//
// # Caveats
//
// Speed: one subpage is 1,664 bytes. On a 100 kHz bus (the Raspberry Pi's
// default) that is about 150 ms, so up to 4 subpages/s; 8 and 16 Hz need
// dtparam=i2c_arm_baudrate=400000 (about 38 ms per subpage). A bus too slow
// for the rate shows as an error ("too slow") rather than torn frames.
//
// Accuracy is about ±1 °C on a good day and the die runs warm in open air
// (ReflectedC defaults to Ta − 8 °C): a screening number from it needs a
// per-device offset against a reference and stays a first-stage screen.
// Pixels whose EEPROM word is 0 are failed and read NaN.
package mlx90640
