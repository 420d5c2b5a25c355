package verify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseKey: the key decoder never panics and never accepts a short key.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"", strings.Repeat("ab", 32), "c2VjcmV0", strings.Repeat("A", 44), strings.Repeat("-_", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if k, err := parseKey(s); err == nil && len(k) < minKey {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
	})
}

// FuzzTemplate: whatever the template, locale and domain, the stored
// (redacted) text never holds the code, and a valid request's text ends
// with the WebOTP line.
func FuzzTemplate(f *testing.F) {
	f.Add("{code} is it", "123456", "pt-BR", "example.com")
	f.Add("1234{code}1234", "1234", "", "a.b")
	f.Add("{code}{minutes}", "0000000000", "xx", "bad domain")
	f.Fuzz(func(t *testing.T, tmpl, code, locale, domain string) {
		language(locale)
		if !digits(code) || checkTemplate(tmpl) != nil {
			return
		}
		if checkDomain(domain) != nil {
			domain = ""
		}
		text := render(tmpl, code, 10, "", domain)
		if strings.Contains(redact(text, code), code) {
			t.Fatalf("redacted text %q holds the code %s", redact(text, code), code)
		}
		if domain != "" && !strings.HasSuffix(text, "\n@"+domain+" #"+code) {
			t.Fatalf("no WebOTP last line: %q", text)
		}
		if !utf8.ValidString(text) {
			t.Fatalf("invalid UTF-8 from a valid template")
		}
	})
}
