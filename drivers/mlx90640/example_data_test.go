package mlx90640

// Melexis's calculation example for the MLX90640 (the "example data"
// spreadsheet that accompanies the datasheet's worked example, as
// transcribed in paxswill/mlx9064x-rs, mlx9064x-test-data/src/
// mlx90640_example_data.rs; © Melexis N.V., Apache-2.0): one device's
// EEPROM and two consecutive subpages read in the chess pattern with
// control register 0x1901, and the object temperature of every pixel after
// both. Only the words the computation of the pixels below reads are
// transcribed; the rest of the EEPROM and RAM read as zero, which marks
// those pixels failed (NaN).

// exampleHeader is EEPROM 0x2400–0x243F.
var exampleHeader = [64]uint16{
	0x00AE, 0x499A, 0x0000, 0x2061, 0x0005, 0x0320, 0x03E0, 0x1710,
	0xA224, 0x0185, 0x0499, 0x0000, 0x1901, 0x0000, 0x0000, 0xB533,
	0x4210, 0xFFC2, 0x0202, 0x0202, 0xF202, 0xF1F2, 0xD1E1, 0xAFC0,
	0xFF00, 0xF002, 0xF103, 0xE103, 0xE1F5, 0xD1E4, 0xC1D5, 0x91C2,
	0x8895, 0x30D9, 0xEDCB, 0x110F, 0x3322, 0x2233, 0x0011, 0xCCEE,
	0xFFED, 0x1100, 0x2222, 0x3333, 0x2233, 0x0022, 0xDEF0, 0x9ACC,
	0x15CC, 0x2FA4, 0x2555, 0x9C78, 0x7666, 0x01C8, 0x3B38, 0x3534,
	0x2452, 0x0463, 0x13BB, 0x0623, 0xEC00, 0x9797, 0x9797, 0x2AFB,
}

// examplePixel is one pixel of the example: its EEPROM word, its RAM word
// in each subpage's read, and its object temperature after both.
type examplePixel struct {
	index  int
	ee     uint16
	ram    [2]uint16
	wantTo float64
}

// The first eight pixels of rows 1 and 2 (0-based 0 and 1): both subpages
// of the chess pattern and all four row/column parities of Kta and Kv.
var examplePixels = []examplePixel{
	{0, 0x00AE, [2]uint16{0xFFB3, 0xFFB3}, 28.711},
	{1, 0xFBE0, [2]uint16{0xFFAC, 0xFFAD}, 27.792},
	{2, 0x1B70, [2]uint16{0xFFB4, 0xFFB4}, 28.178},
	{3, 0xF3BE, [2]uint16{0xFFAA, 0xFFAA}, 28.268},
	{4, 0x000E, [2]uint16{0xFFB3, 0xFFB3}, 28.313},
	{5, 0xF86E, [2]uint16{0xFFAC, 0xFFAD}, 28.450},
	{6, 0x1B7E, [2]uint16{0xFFB6, 0xFFB6}, 28.631},
	{7, 0xF3CE, [2]uint16{0xFFA9, 0xFFA8}, 28.353},
	{32, 0x0470, [2]uint16{0xFFA9, 0xFFAC}, 28.942},
	{33, 0xFBCE, [2]uint16{0xFFA8, 0xFFA8}, 28.618},
	{34, 0xFF5C, [2]uint16{0xFFA6, 0xFFA5}, 28.332},
	{35, 0x0F90, [2]uint16{0xFFA8, 0xFFA8}, 28.134},
	{36, 0x07D0, [2]uint16{0xFFA9, 0xFFAC}, 28.541},
	{37, 0xFC3E, [2]uint16{0xFFA6, 0xFFA6}, 28.517},
	{38, 0xFF6C, [2]uint16{0xFFA6, 0xFFA5}, 28.394},
	{39, 0x0F90, [2]uint16{0xFFA5, 0xFFA5}, 27.982},
}

// exampleAux are the auxiliary RAM words of the two subpages' reads, by
// address: Ta_Vbe, CP, gain, Ta_PTAT, CP, Vdd.
var exampleAux = [2]map[uint16]uint16{
	{0x0700: 0x4DFA, 0x0708: 0xFFB9, 0x070A: 0x1584, 0x0720: 0x0695, 0x0728: 0xFFBD, 0x072A: 0xCEF2},
	{0x0700: 0x4DFA, 0x0708: 0xFFB9, 0x070A: 0x1584, 0x0720: 0x0696, 0x0728: 0xFFBF, 0x072A: 0xCF18},
}

// exampleControl is the control register of the example: chess pattern,
// 18-bit resolution, 2 Hz, subpage mode.
const exampleControl = 0x1901

// exampleEEPROM returns the example's EEPROM with the transcribed pixels.
func exampleEEPROM() *[eepromLen]uint16 {
	var ee [eepromLen]uint16
	copy(ee[:], exampleHeader[:])
	for _, p := range examplePixels {
		ee[0x40+p.index] = p.ee
	}
	return &ee
}

// exampleRAM returns subpage sp's RAM read.
func exampleRAM(sp int) *[ramLen]uint16 {
	var ram [ramLen]uint16
	for _, p := range examplePixels {
		ram[p.index] = p.ram[sp]
	}
	for a, w := range exampleAux[sp] {
		ram[a-ramAddr] = w
	}
	return &ram
}
