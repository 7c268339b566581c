package mlx90640

import (
	"errors"
	"math"
)

// Geometry and memory map (datasheet, "Address map").
const (
	width      = 32
	height     = 24
	pixels     = width * height
	eepromAddr = 0x2400
	eepromLen  = 832 // words, 0x2400–0x273F
	ramAddr    = 0x0400
	ramLen     = 832 // words, 0x0400–0x073F: 768 pixels, then auxiliary data
)

// Auxiliary RAM words, as offsets from ramAddr.
const (
	ramVbe  = 0x0700 - ramAddr // Ta_Vbe
	ramCP0  = 0x0708 - ramAddr // compensation pixel, subpage 0
	ramGain = 0x070A - ramAddr
	ramPTAT = 0x0720 - ramAddr // Ta_PTAT
	ramCP1  = 0x0728 - ramAddr // compensation pixel, subpage 1
	ramVdd  = 0x072A - ramAddr
)

// params are the calibration parameters restored from the EEPROM once
// (datasheet §11.1 "Restoring calibration data from EEPROM"). Per-pixel
// values are indexed like the RAM: pixel = row*32 + column, 0-based.
type params struct {
	kVdd, vdd25                      float64
	kvPTAT, ktPTAT, vPTAT25, alphaPT float64
	gainEE                           float64
	ksTa                             float64
	ksTo                             [4]float64 // per range
	ct                               [4]float64 // corner temperatures, °C
	alphaCorr                        [4]float64 // sensitivity correction per range
	resolutionEE                     int
	tgc                              float64
	cpAlpha, cpOffset                [2]float64
	cpKta, cpKv                      float64
	ilChess                          [3]float64
	calibratedChess                  bool
	offset, alpha, kta, kv           [pixels]float64
	failed                           [pixels]bool
}

// errBlankEEPROM is returned for an EEPROM that reads as all ones or all
// zeros in its calibration words: a bus that returned nothing, not a sensor.
var errBlankEEPROM = errors.New("EEPROM calibration words are blank")

// signed interprets the low bits of v as a two's complement number.
func signed(v uint16, bits uint) float64 {
	s := int32(v) & (1<<bits - 1)
	if s >= 1<<(bits-1) {
		s -= 1 << bits
	}
	return float64(s)
}

// nibble returns the 4-bit signed value number i (0 = least significant) of w.
func nibble(w uint16, i int) float64 { return signed(w>>(4*uint(i)), 4) }

func pow2(n uint16) float64 { return math.Ldexp(1, int(n)) }

// extract restores every calibration parameter from the EEPROM words
// (ee[0] is address 0x2400).
func extract(ee *[eepromLen]uint16) (*params, error) {
	if blankEEPROM(ee) {
		return nil, errBlankEEPROM
	}
	p := &params{}
	p.extractSensor(ee)
	p.extractRanges(ee)
	p.extractCompensation(ee)
	p.extractPixels(ee)
	if p.kVdd == 0 || p.ktPTAT == 0 || p.gainEE == 0 {
		return nil, errBlankEEPROM
	}
	return p, nil
}

// blankEEPROM reports whether the calibration words are all erased or zero.
func blankEEPROM(ee *[eepromLen]uint16) bool {
	for _, w := range ee[0x10:0x40] {
		if w != 0xFFFF && w != 0 {
			return false
		}
	}
	return true
}

// extractSensor restores the supply, ambient and gain parameters.
func (p *params) extractSensor(ee *[eepromLen]uint16) {
	// §11.1.1 Vdd.
	p.kVdd = signed(ee[0x33]>>8, 8) * 32
	p.vdd25 = (float64(ee[0x33]&0xFF)-256)*32 - 8192
	// §11.1.2 Ta.
	p.kvPTAT = signed(ee[0x32]>>10, 6) / 4096
	p.ktPTAT = signed(ee[0x32], 10) / 8
	p.vPTAT25 = signed(ee[0x31], 16)
	p.alphaPT = float64(ee[0x10]>>12)/4 + 8
	// §11.1.7 gain, §11.1.10 KsTa, §11.1.9 TGC, resolution (0x2438 bits 13:12).
	p.gainEE = signed(ee[0x30], 16)
	p.ksTa = signed(ee[0x3C]>>8, 8) / 8192
	p.tgc = signed(ee[0x3C], 8) / 32
	p.resolutionEE = int(ee[0x38]>>12) & 0x3
}

// extractRanges restores the corner temperatures, KsTo and the sensitivity
// correction of each temperature range.
func (p *params) extractRanges(ee *[eepromLen]uint16) {
	// §11.1.11 corner temperatures and KsTo per range.
	step := float64((ee[0x3F]>>12)&0x3) * 10
	p.ct = [4]float64{-40, 0, float64((ee[0x3F]>>4)&0xF) * step, 0}
	p.ct[3] = p.ct[2] + float64((ee[0x3F]>>8)&0xF)*step
	ksToScale := pow2(ee[0x3F]&0xF + 8)
	p.ksTo = [4]float64{
		signed(ee[0x3D], 8) / ksToScale,
		signed(ee[0x3D]>>8, 8) / ksToScale,
		signed(ee[0x3E], 8) / ksToScale,
		signed(ee[0x3E]>>8, 8) / ksToScale,
	}
	// Sensitivity correction per range, relative to range 2 (0 °C…CT3).
	p.alphaCorr[0] = 1 / (1 + p.ksTo[0]*(p.ct[1]-p.ct[0]))
	p.alphaCorr[1] = 1
	p.alphaCorr[2] = 1 + p.ksTo[1]*(p.ct[2]-p.ct[1])
	p.alphaCorr[3] = p.alphaCorr[2] * (1 + p.ksTo[2]*(p.ct[3]-p.ct[2]))
}

// ktaKvScales are the Kta scales 1 and 2 and the Kv scale (§11.1.6, 0x2438).
func ktaKvScales(ee *[eepromLen]uint16) (kta1, kta2, kv float64) {
	return pow2((ee[0x38]>>4)&0xF + 8), pow2(ee[0x38] & 0xF), pow2((ee[0x38] >> 8) & 0xF)
}

// extractCompensation restores the compensation pixels' parameters and the
// chess/interleave correction.
func (p *params) extractCompensation(ee *[eepromLen]uint16) {
	// §11.1.8 compensation pixels.
	ktaScale1, _, kvScale := ktaKvScales(ee)
	alphaScaleCP := pow2(ee[0x20]>>12 + 27)
	p.cpAlpha[0] = signed(ee[0x39], 10) / alphaScaleCP
	p.cpAlpha[1] = p.cpAlpha[0] * (1 + signed(ee[0x39]>>10, 6)/128)
	p.cpOffset[0] = signed(ee[0x3A], 10)
	p.cpOffset[1] = p.cpOffset[0] + signed(ee[0x3A]>>10, 6)
	p.cpKta = signed(ee[0x3B], 8) / ktaScale1
	p.cpKv = signed(ee[0x3B]>>8, 8) / kvScale
	// §11.1.12 chess/interleave correction, and the pattern the part was
	// calibrated in (0x240A bit 11 clear: chess).
	p.ilChess = [3]float64{
		signed(ee[0x35], 6) / 16,
		signed(ee[0x35]>>6, 5) / 2,
		signed(ee[0x35]>>11, 5) / 8,
	}
	p.calibratedChess = ee[0x0A]&0x0800 == 0
}

// extractPixels restores every pixel's offset, sensitivity, Kta and Kv
// (§11.1.3–11.1.6).
func (p *params) extractPixels(ee *[eepromLen]uint16) {
	ktaScale1, ktaScale2, kvScale := ktaKvScales(ee)
	offsetRef := signed(ee[0x11], 16)
	occRem, occCol, occRow := pow2(ee[0x10]&0xF), pow2((ee[0x10]>>4)&0xF), pow2((ee[0x10]>>8)&0xF)
	alphaRef := float64(ee[0x21])
	accRem, accCol, accRow := pow2(ee[0x20]&0xF), pow2((ee[0x20]>>4)&0xF), pow2((ee[0x20]>>8)&0xF)
	alphaScale := pow2(ee[0x20]>>12 + 30)
	// Kta and Kv of the four row/column parities, indexed by
	// 2*(row%2) + column%2 (0-based: row 0 is the datasheet's odd row 1).
	ktaRC := [4]float64{signed(ee[0x36]>>8, 8), signed(ee[0x37]>>8, 8), signed(ee[0x36], 8), signed(ee[0x37], 8)}
	kvRC := [4]float64{nibble(ee[0x34], 3), nibble(ee[0x34], 1), nibble(ee[0x34], 2), nibble(ee[0x34], 0)}
	for i := range pixels {
		row, col := i/width, i%width
		w := ee[0x40+i]
		if w == 0 {
			p.failed[i] = true // datasheet note 1 to table 10: a failed pixel
		}
		p.offset[i] = offsetRef +
			nibble(ee[0x12+row/4], row%4)*occRow +
			nibble(ee[0x18+col/4], col%4)*occCol +
			signed(w>>10, 6)*occRem
		p.alpha[i] = (alphaRef +
			nibble(ee[0x22+row/4], row%4)*accRow +
			nibble(ee[0x28+col/4], col%4)*accCol +
			signed(w>>4, 6)*accRem) / alphaScale
		rc := 2*(row%2) + col%2
		p.kta[i] = (ktaRC[rc] + signed(w>>1, 3)*ktaScale2) / ktaScale1
		p.kv[i] = kvRC[rc] / kvScale
	}
}
