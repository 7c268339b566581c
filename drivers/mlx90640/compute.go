package mlx90640

import "math"

const kelvin = 273.15

// taShift: the sensor's die runs this much above the room it sees in open
// air (Melexis), so by default the surroundings are Ta − 8 °C.
const taShift = 8

// subpage is the result of one subpage's computation that the pixel loop
// shares.
type subpage struct {
	vdd, ta, gain float64
	cp            [2]float64 // compensated CP pixel of both subpages
	taTr          float64    // (Tr⁴ − (Tr⁴ − Ta⁴)/ε) in K⁴
}

// vdd returns the supply voltage (datasheet §11.2.2.2); resolutionRAM is
// control register bits 11:10.
func (p *params) vdd(ram *[ramLen]uint16, resolutionRAM int) float64 {
	corr := math.Ldexp(1, p.resolutionEE-resolutionRAM)
	return (corr*signed(ram[ramVdd], 16)-p.vdd25)/p.kVdd + 3.3
}

// ta returns the ambient (die) temperature in °C (§11.2.2.3).
func (p *params) ta(ram *[ramLen]uint16, vdd float64) float64 {
	ptat := signed(ram[ramPTAT], 16)
	art := ptat / (ptat*p.alphaPT + signed(ram[ramVbe], 16)) * (1 << 18)
	return (art/(1+p.kvPTAT*(vdd-3.3))-p.vPTAT25)/p.ktPTAT + 25
}

// prepare computes what every pixel of the subpage shares: Vdd, Ta, the
// gain and the compensation pixels (§11.2.2.4, §11.2.2.6).
// Without trC, the surroundings are taShift below Ta.
func (p *params) prepare(ram *[ramLen]uint16, resolutionRAM int, chess bool, emissivity float64, trC *float64) subpage {
	var s subpage
	s.vdd = p.vdd(ram, resolutionRAM)
	s.ta = p.ta(ram, s.vdd)
	s.gain = p.gainEE / signed(ram[ramGain], 16)
	k := (1 + p.cpKta*(s.ta-25)) * (1 + p.cpKv*(s.vdd-3.3))
	s.cp[0] = signed(ram[ramCP0], 16)*s.gain - p.cpOffset[0]*k
	off1 := p.cpOffset[1]
	if chess != p.calibratedChess {
		off1 += p.ilChess[0]
	}
	s.cp[1] = signed(ram[ramCP1], 16)*s.gain - off1*k
	tr := s.ta - taShift
	if trC != nil {
		tr = *trC
	}
	tr4 := pow4(tr + kelvin)
	s.taTr = tr4 - (tr4-pow4(s.ta+kelvin))/emissivity
	return s
}

// pattern says which subpage measures pixel i: rows alternate in the
// interleaved pattern, and rows and columns in the chess pattern.
func pattern(i int, chess bool) int {
	il := (i / width) % 2
	if chess {
		return il ^ (i % 2)
	}
	return il
}

// pixel returns the object temperature in °C of pixel i from its raw RAM
// word (§11.2.2.5–11.2.2.9, with the extended ranges of §11.2.2.9.1).
func (p *params) pixel(i int, raw uint16, s *subpage, sp int, chess bool, emissivity float64) float64 {
	v := signed(raw, 16)*s.gain -
		p.offset[i]*(1+p.kta[i]*(s.ta-25))*(1+p.kv[i]*(s.vdd-3.3))
	if chess != p.calibratedChess {
		// The pattern differs from the one the part was calibrated in.
		il := float64((i / width) % 2)
		conv := float64((i+2)/4-(i+3)/4+(i+1)/4-i/4) * (1 - 2*il)
		v += p.ilChess[2]*(2*il-1) - p.ilChess[1]*conv
	}
	v /= emissivity
	v -= p.tgc * s.cp[sp]
	a := (p.alpha[i] - p.tgc*p.cpAlpha[sp]) * (1 + p.ksTa*(s.ta-25))
	sx := p.ksTo[1] * math.Sqrt(math.Sqrt(a*a*a*v+a*a*a*a*s.taTr))
	to := math.Sqrt(math.Sqrt(v/(a*(1-p.ksTo[1]*kelvin)+sx)+s.taTr)) - kelvin
	r := 3
	switch {
	case to < p.ct[1]:
		r = 0
	case to < p.ct[2]:
		r = 1
	case to < p.ct[3]:
		r = 2
	}
	return math.Sqrt(math.Sqrt(v/(a*p.alphaCorr[r]*(1+p.ksTo[r]*(to-p.ct[r])))+s.taTr)) - kelvin
}

func pow4(x float64) float64 { x *= x; return x * x }
