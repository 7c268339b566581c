package uplink

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// validObject is what scan must accept: JSON whose value is an object, in
// well-formed UTF-8 (json.Valid lets broken UTF-8 through; scan sends such a
// body through the rewrite).
func validObject(body []byte) bool {
	t := bytes.TrimLeft(body, " \t\r\n")
	return json.Valid(body) && utf8.Valid(body) && len(t) > 0 && t[0] == '{'
}

// scanCases are bodies scan must judge as json.Valid does; most are a
// byte away from a valid body.
var scanCases = []string{
	`{}`, ` { } `, `{"a":1}`, `{"lane":"L1","body_c":36.6,"ok":true,"w":null,"x":[1,{"y":"z"}],"n":-0.5e+3}`,
	`{"person_id":"s-001","lane":"L1"}`, `{"a":"\u00e9\n\"","b":"é","c":"😀"}`,
	`{"a":1,}`, `{"a":1`, `{"a" 1}`, `{a:1}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`,
	`{"a":tru}`, `{"a":nul}`, `{"a":"x}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, "{\"a\":\"\x01\"}",
	"{\"a\":\"\xff\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", `{"a":[1,2}`, `{"a":[1,]}`, `{"a":{"b":1}}}`,
	`{"a":1}{}`, `{"a":1} x`, `[1]`, `"s"`, `{"a":1,"a":2}`, `{"a":[]}`, `{"a":{}}`, `{"a" : [ 1 , 2 ] }`,
}

// scan accepts exactly the valid objects: the uplink sends them as they are.
func TestScanRefusesWhatIsNotJSON(t *testing.T) {
	e := &encoder{renamed: map[string]bool{}}
	for _, c := range scanCases {
		_, ok := e.scan([]byte(c))
		if ok != validObject([]byte(c)) {
			t.Errorf("scan(%q) ok = %v, want %v", c, ok, !ok)
		}
	}
}

// FuzzScanAgreesWithJSONValid holds scan to encoding/json on any input:
// an accepted body is valid, and a valid object without clashing or
// escaped keys or an odd person_id is accepted.
func FuzzScanAgreesWithJSONValid(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	e := &encoder{renamed: map[string]bool{"id": true}}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, ok := e.scan(body)
		valid := validObject(body)
		if ok && !valid {
			t.Fatalf("scan accepted %q, which json.Valid refuses", body)
		}
		if ok && p.id != nil && !bytes.Contains(body, p.id) {
			t.Fatalf("person_id %q is not in %q", p.id, body)
		}
		if !ok && valid && !bytes.Contains(body, []byte(`\`)) && !bytes.Contains(body, []byte(`"id"`)) &&
			!bytes.Contains(body, []byte(`"person_id"`)) && bytes.Count(body, []byte("{")) < maxDepth {
			t.Fatalf("scan refused %q, a plain valid object", body)
		}
	})
}
