// Package mlx90614 reads a Melexis MLX90614 infrared thermometer on an I²C
// (SMBus) bus that the daemon has already opened.
//
// Every read is one SMBus "read word" with repeated start: write the RAM
// command (0x06 ambient Ta, 0x07 object Tobj1), read LSB, MSB and the PEC
// byte. The PEC is checked on every read; a mismatch or a bus error is
// retried a bounded number of times. A frame whose PEC never matches becomes
// an invalid reading (drivers.FlagChecksum) with the bytes kept for
// diagnosis; a bus that keeps failing makes Run return the wrapped error so
// the daemon reopens the bus with backoff.
//
// # Datasheet
//
// MLX90614 datasheet (Melexis 3901090614) and its SMBus application note:
// RAM temperatures are unsigned 15-bit values in units of 0.02 K; bit 15 of
// the word is the error flag and then no temperature is given. Tobj1 spans
// 0x27AD…0x7FFF (−70.01…+382.19 °C). PEC is CRC-8 with polynomial
// x⁸+x²+x+1 (0x07), initial value 0, over SA_W, command, SA_R, LSB, MSB.
//
// # Caveats
//
// The sensor needs an SMBus at 10–100 kHz with repeated start; on a
// Raspberry Pi keep the bus at its default 100 kHz. The values are skin
// temperatures: devices using it are configured with mode "skin" and an
// offset, applied by the pipeline, not here.
package mlx90614
