package school

import "testing"

// A roster file is typed by people: whatever it holds, parsing never panics
// and an accepted roster has an id and a name for everyone, ids and cards
// unique.
func FuzzParseRoster(f *testing.F) {
	f.Add([]byte("id,name,class,grade,role,card_uid\nS1,Ann,1A,1,student,AA01\n"))
	f.Add([]byte("\xef\xbb\xbf学号,姓名,班级,年级,角色,卡号\nS1,王小明,一(1)班,1,学生,04:a1\n"))
	f.Add([]byte("id,name\n\"S1,Ann\n"))
	f.Add([]byte("name,id\n,\n,,,,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ro, err := ParseRoster("fuzz.csv", data)
		if err != nil {
			return
		}
		ids, cards := map[string]bool{}, map[string]bool{}
		for _, p := range ro.People {
			if p.ID == "" || p.Name == "" || ids[p.ID] || (p.Card != "" && cards[p.Card]) {
				t.Fatalf("accepted a bad entry %+v", p)
			}
			ids[p.ID], cards[p.Card] = true, p.Card != ""
			if got, ok := ro.ByID(p.ID); !ok || got != p {
				t.Fatalf("ByID(%q) = %+v %v", p.ID, got, ok)
			}
			if p.Card != "" {
				if got, ok := ro.ByCard(p.Card); !ok || got.ID != p.ID {
					t.Fatalf("ByCard(%q) = %+v %v", p.Card, got, ok)
				}
			}
		}
	})
}
