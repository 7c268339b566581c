package mlx90640

import (
	"math"
	"testing"
)

// datasheetHeader is EEPROM 0x2410–0x243F of the datasheet's worked example
// (MLX90640 datasheet rev. 11/12, §11 "Calculating object temperature"),
// whose pixel (12,16) has the EEPROM word 0x08A0; transcribed as in
// paxswill/mlx9064x-rs, mlx9064x-test-data/src/eeprom_data.rs.
var datasheetHeader = [48]uint16{
	0x4210, 0xFFBB, 0x0202, 0xF202, 0xF2F2, 0xE2E2, 0xD1E1, 0xB1D1,
	0xF10F, 0xF00F, 0xE0EF, 0xE0EF, 0xE1E1, 0xF3F2, 0xF404, 0xE504,
	0x79A6, 0x2F44, 0xFFDD, 0x2210, 0x3333, 0x2233, 0xEF01, 0x9ACC,
	0xEEDC, 0x10FF, 0x2221, 0x3333, 0x2333, 0x0112, 0xEEFF, 0xBBDD,
	0x18EF, 0x2FF1, 0x5952, 0x9D68, 0x5454, 0x0994, 0x6956, 0x5354,
	0x2363, 0xE446, 0xFBB5, 0x044B, 0xF020, 0x9797, 0x9797, 0x2889,
}

// The datasheet's example device has TGC = 1, which Melexis's example data
// (TGC = 0) does not exercise, and different corner temperatures. Only the
// EEPROM words of the example could be transcribed from the datasheet text
// available here, not its RAM words; so this checks the restored parameters,
// each worked out by hand from the words in the comment, and the corner
// temperatures CT3 = 160 °C, CT4 = 320 °C that §11.2.2.9.1.1 prints.
func TestExtractDatasheetExample(t *testing.T) {
	var ee [eepromLen]uint16
	copy(ee[0x10:], datasheetHeader[:])
	const px = 11*32 + 15 // pixel (12,16), 1-based
	ee[0x40+px] = 0x08A0
	p, err := extract(&ee)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"kVdd (0x9D → −99 × 32)", p.kVdd, -3168},
		{"vdd25 ((0x68 − 256) × 32 − 8192)", p.vdd25, -13056},
		{"KvPTAT (22 / 4096)", p.kvPTAT, 22.0 / 4096},
		{"KtPTAT (338 / 8)", p.ktPTAT, 42.25},
		{"VPTAT25 (0x2FF1)", p.vPTAT25, 12273},
		{"alphaPTAT (4 / 4 + 8)", p.alphaPT, 9},
		{"gainEE (0x18EF)", p.gainEE, 6383},
		{"TGC (32 / 32)", p.tgc, 1},
		{"KsTa (−16 / 8192)", p.ksTa, -16.0 / 8192},
		{"CT3", p.ct[2], 160},
		{"CT4", p.ct[3], 320},
		{"KsTo (−105 / 2^17)", p.ksTo[1], -105.0 / (1 << 17)},
		{"offsetCP0 (0x3B5 − 1024)", p.cpOffset[0], -75},
		{"offsetCP1 (−75 − 2)", p.cpOffset[1], -77},
		{"alphaCP0 (70 / 2^34)", p.cpAlpha[0], 70 / math.Ldexp(1, 34)},
		{"alphaCP1 (× (1 − 7/128))", p.cpAlpha[1], 70 / math.Ldexp(1, 34) * (1 - 7.0/128)},
		{"KvCP (4 / 2^3)", p.cpKv, 0.5},
		{"KtaCP (75 / 2^14)", p.cpKta, 75.0 / (1 << 14)},
		// offsetRef −69, OCC row 12 = −1 << 2, OCC column 16 = −2 << 1, pixel 2 << 0.
		{"offset(12,16)", p.offset[px], -75},
		// (12100 + 3 << 9 + 3 << 10 + 10 << 6) / 2^37.
		{"alpha(12,16)", p.alpha[px], 17348 / math.Ldexp(1, 37)},
		// KtaReCe 84, pixel Kta 0: 84 / 2^14.
		{"Kta(12,16)", p.kta[px], 84.0 / (1 << 14)},
		// KvReCe 4 / 2^3.
		{"Kv(12,16)", p.kv[px], 0.5},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-12*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
