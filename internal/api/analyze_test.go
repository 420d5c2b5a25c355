package api

import (
	"slices"
	"strings"
	"testing"
)

func TestAnalyze(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, a analysisView)
	}{
		{"gsm7", `{"body":"Hello [world]"}`, func(t *testing.T, a analysisView) {
			if a.Encoding != "gsm7" || a.DataCoding != 0 || a.Parts != 1 || a.Units != 15 || a.Capacity != 160 ||
				a.Remaining != 145 || !slices.Equal(a.CharactersPerPart, []int{13}) || len(a.UCS2Characters) != 0 {
				t.Errorf("%+v", a)
			}
		}},
		{"ucs2", `{"body":"Код 😀 ok"}`, func(t *testing.T, a analysisView) {
			if a.Encoding != "ucs2" || a.DataCoding != 8 || a.Parts != 1 || a.Capacity != 70 ||
				!slices.Equal(a.UCS2Characters, []string{"К", "о", "д", "😀"}) {
				t.Errorf("%+v", a)
			}
		}},
		{"two parts", `{"body":"` + strings.Repeat("a", 161) + `"}`, func(t *testing.T, a analysisView) {
			if a.Parts != 2 || a.Capacity != 153 || !slices.Equal(a.CharactersPerPart, []int{153, 8}) {
				t.Errorf("%+v", a)
			}
		}},
		{"smart", `{"body":"“Hi” — it’s me","smart_encoding":true}`, func(t *testing.T, a analysisView) {
			if a.Encoding != "gsm7" || !a.SmartEncoded || a.Text != `"Hi" - it's me` {
				t.Errorf("%+v", a)
			}
		}},
		{"smart off", `{"body":"“Hi”"}`, func(t *testing.T, a analysisView) {
			if a.Encoding != "ucs2" || a.SmartEncoded || a.Text != "“Hi”" || !slices.Equal(a.UCS2Characters, []string{"“", "”"}) {
				t.Errorf("%+v", a)
			}
		}},
		{"empty", `{"body":""}`, func(t *testing.T, a analysisView) {
			if a.Encoding != "gsm7" || a.Parts != 1 || a.Units != 0 {
				t.Errorf("%+v", a)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := h.send("POST", "/v1/text/analyze", tc.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			tc.check(t, decode[analysisView](t, b))
		})
	}
}
