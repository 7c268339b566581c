package uplink

// A strict JSON scanner for the bodies the uplink splices into messages.
//
// Every body sent as it is stored must be valid JSON, or the consumer
// rejects the whole message and the hundreds of events in it. The bodies
// come from json.Marshal in the pipeline, so they always are; checking
// that with json.Valid before every send cost about a third of a drain's
// CPU. scan checks it in the same pass that looks for person_id and for
// keys that clash with the envelope, a byte at a time with no state
// machine. It accepts exactly what RFC 8259 calls a JSON text whose value
// is an object (FuzzScanAgreesWithJSONValid holds it to json.Valid), so a
// body it refuses takes the encoding/json rewrite, which sends what does
// not parse as "body_raw".

// maxDepth bounds the nesting scan follows; deeper bodies (none of ours)
// take the rewrite.
const maxDepth = 64

// scanner walks one body; bad is set at the first byte that is not JSON.
type scanner struct {
	b   []byte
	i   int
	bad bool
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the byte at the cursor, 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str consumes a string at the cursor and reports whether it held escapes.
func (s *scanner) str() (escaped bool) {
	if s.peek() != '"' {
		s.bad = true
		return false
	}
	for s.i++; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return escaped
		case c < 0x20:
			s.bad = true
			return false
		case c == '\\':
			escaped = true
			s.i++
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if s.i+4 >= len(s.b) {
					s.bad = true
					return false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						s.bad = true
						return false
					}
				}
				s.i += 4
			default:
				s.bad = true
				return false
			}
		case c >= 0x80:
			// Multi-byte UTF-8 must be well formed, as json.Valid wants.
			n := utf8Len(s.b[s.i:])
			if n == 0 {
				s.bad = true
				return false
			}
			s.i += n - 1
		}
	}
	s.bad = true
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// utf8Len returns the length of the well-formed UTF-8 sequence b starts
// with, 0 if it is not one (overlong forms, surrogates, beyond U+10FFFF).
func utf8Len(b []byte) int {
	cont := func(i int, lo, hi byte) bool { return i < len(b) && lo <= b[i] && b[i] <= hi }
	switch c := b[0]; {
	case 0xC2 <= c && c <= 0xDF:
		if cont(1, 0x80, 0xBF) {
			return 2
		}
	case c == 0xE0:
		if cont(1, 0xA0, 0xBF) && cont(2, 0x80, 0xBF) {
			return 3
		}
	case 0xE1 <= c && c <= 0xEC, c == 0xEE, c == 0xEF:
		if cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) {
			return 3
		}
	case c == 0xED:
		if cont(1, 0x80, 0x9F) && cont(2, 0x80, 0xBF) {
			return 3
		}
	case c == 0xF0:
		if cont(1, 0x90, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) {
			return 4
		}
	case 0xF1 <= c && c <= 0xF3:
		if cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) {
			return 4
		}
	case c == 0xF4:
		if cont(1, 0x80, 0x8F) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) {
			return 4
		}
	}
	return 0
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *scanner) number() {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		s.bad = true
		return
	}
	if s.peek() == '.' {
		s.i++
		if s.digits() == 0 {
			s.bad = true
			return
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if s.digits() == 0 {
			s.bad = true
		}
	}
}

func (s *scanner) literal(lit string) {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		s.bad = true
		return
	}
	s.i += len(lit)
}

// value consumes one value (with the space around it) at nesting depth.
func (s *scanner) value(depth int) {
	s.space()
	switch c := s.peek(); {
	case c == '"':
		s.str()
	case c == '{' || c == '[':
		if depth >= maxDepth {
			s.bad = true
			return
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		s.i++
		s.space()
		if s.peek() == end {
			s.i++
			break
		}
		for !s.bad {
			if c == '{' {
				s.space()
				s.str()
				s.space()
				if s.bad || s.peek() != ':' {
					s.bad = true
					return
				}
				s.i++
			}
			s.value(depth + 1)
			if s.bad {
				return
			}
			switch s.peek() {
			case ',':
				s.i++
				continue
			case end:
				s.i++
			default:
				s.bad = true
			}
			break
		}
	case c == '-' || '0' <= c && c <= '9':
		s.number()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	default:
		s.bad = true
	}
	s.space()
}

// scan checks that body is one valid JSON object and walks its top level.
// ok is false when it is not, or when the body needs a rewrite: a key
// clashes with the envelope or is escaped (and might decode to one), or
// person_id is repeated or not a plain string.
func (e *encoder) scan(body []byte) (p personSpan, ok bool) {
	s := scanner{b: body}
	p.from, p.to = len(body)-1, len(body)-1
	s.space()
	if s.peek() != '{' {
		return p, false
	}
	s.i++
	s.space()
	if s.peek() == '}' {
		s.i++
		s.space()
		return p, s.i == len(body)
	}
	for {
		s.space()
		from := s.i
		escaped := s.str()
		if s.bad {
			return p, false
		}
		key := body[from+1 : s.i-1]
		if escaped || e.renamed[string(key)] {
			return p, false
		}
		s.space()
		if s.peek() != ':' {
			return p, false
		}
		s.i++
		if string(key) == bodyPersonKey {
			s.space()
			if p.id != nil || s.peek() != '"' {
				return p, false
			}
			v := s.i
			if s.str() || s.bad {
				return p, false
			}
			p.from, p.to, p.id = from, s.i, body[v+1:s.i-1]
			s.space()
		} else {
			s.value(1)
			if s.bad {
				return p, false
			}
		}
		switch s.peek() {
		case ',':
			s.i++
			continue
		case '}':
			s.i++
			s.space()
			return p, s.i == len(body)
		}
		return p, false
	}
}
