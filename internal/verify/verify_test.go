package verify

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smstext"
)

func errCode(err error) string {
	var e *herald.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestStartCheckApprove(t *testing.T) {
	t.Parallel()
	e := newEnv(t, herald.VerifyLimits{})
	ctx := t.Context()
	v, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123456"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != herald.VerificationPending || !strings.HasPrefix(v.ID, "ver_") || v.CodeLength != 6 {
		t.Fatalf("start: %+v", v)
	}
	code := e.codeOf(t, v.ID)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	a, err := e.svc.Check(ctx, e.acc, v.ID, wrong)
	if err != nil || a.Valid || a.Status != herald.VerificationPending || a.ChecksLeft != 4 {
		t.Fatalf("wrong code: %+v %v", a, err)
	}
	a, err = e.svc.Check(ctx, e.acc, v.ID, code)
	if err != nil || !a.Valid || a.Status != herald.VerificationApproved {
		t.Fatalf("right code: %+v %v", a, err)
	}
	if _, err := e.svc.Check(ctx, e.acc, v.ID, code); errCode(err) != herald.CodeVerifyNotPending {
		t.Fatalf("second use: %v", err)
	}
	// The code message is an otp message, stored with the code masked.
	ms, _, err := e.st.ListMessages(ctx, e.acc, storeFilter(v.ID))
	if err != nil || len(ms) != 1 {
		t.Fatalf("messages: %v %v", ms, err)
	}
	if m := ms[0]; m.Type != herald.TypeOTP || strings.Contains(m.Body, code) || !strings.HasPrefix(m.Body, "******") {
		t.Fatalf("stored message %q type %s", m.Body, m.Type)
	}
}

func TestCodeBoundToVerification(t *testing.T) {
	t.Parallel()
	e := newEnv(t, herald.VerifyLimits{})
	ctx := t.Context()
	v1, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123001"})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123002"})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := e.svc.Check(ctx, e.acc, v2.ID, e.codeOf(t, v1.ID)); a.Valid && e.codeOf(t, v1.ID) != e.codeOf(t, v2.ID) {
		t.Fatal("v1's code approved v2")
	}
	// Another account gets the decoy answer, even with the right code.
	other, _ := e.st.EnsureAccount(ctx, "other")
	a, err := e.svc.Check(ctx, other.ID, v1.ID, e.codeOf(t, v1.ID))
	if err != nil || a.Valid || a.Status != herald.VerificationPending || a.ChecksLeft != 4 {
		t.Fatalf("other account: %+v %v", a, err)
	}
	if _, err := e.svc.Get(ctx, other.ID, v1.ID); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("other account reads it: %v", err)
	}
	if _, err := e.svc.Cancel(ctx, other.ID, v1.ID); herald.ErrorKind(err) != herald.KindNotFound {
		t.Fatalf("other account cancels it: %v", err)
	}
	if a, err := e.svc.Check(ctx, e.acc, v1.ID, e.codeOf(t, v1.ID)); err != nil || !a.Valid {
		t.Fatalf("owner: %+v %v", a, err)
	}
}

func TestResendSendsNewCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, herald.VerifyLimits{})
	ctx := t.Context()
	v, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123003", CodeLength: 8})
	if err != nil {
		t.Fatal(err)
	}
	first := e.codeOf(t, v.ID)
	if _, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123003", CodeLength: 8}); errCode(err) != herald.CodeVerifyResendCooldown {
		t.Fatalf("resend in cooldown: %v", err)
	}
	var he *herald.Error
	_, err = e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123003"})
	if !errors.As(err, &he) || he.RetryAfter != 30*time.Second {
		t.Fatalf("retry after: %v", err)
	}
	e.clock.Add(30 * time.Second)
	v2, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123003", CodeLength: 8})
	if err != nil || v2.ID != v.ID || v2.Sends != 2 {
		t.Fatalf("resend: %+v %v", v2, err)
	}
	second := e.codeOf(t, v.ID)
	if first != second {
		if a, _ := e.svc.Check(ctx, e.acc, v.ID, first); a.Valid {
			t.Fatal("the replaced code still works")
		}
	}
	if a, err := e.svc.Check(ctx, e.acc, v.ID, second); err != nil || !a.Valid {
		t.Fatalf("new code: %+v %v", a, err)
	}
}

func TestExpiryAndCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, herald.VerifyLimits{})
	ctx := t.Context()
	v, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123004", TTL: 120})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Minute)
	if g, _ := e.svc.Get(ctx, e.acc, v.ID); g.Status != herald.VerificationExpired {
		t.Fatalf("get after ttl: %s", g.Status)
	}
	if _, err := e.svc.Check(ctx, e.acc, v.ID, e.codeOf(t, v.ID)); errCode(err) != herald.CodeVerifyNotPending {
		t.Fatalf("check after ttl: %v", err)
	}
	w, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123004"})
	if err != nil || w.ID == v.ID {
		t.Fatalf("new after expiry: %+v %v", w, err)
	}
	c, err := e.svc.Cancel(ctx, e.acc, w.ID)
	if err != nil || c.Status != herald.VerificationCanceled {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	if _, err := e.svc.Check(ctx, e.acc, w.ID, e.codeOf(t, w.ID)); errCode(err) != herald.CodeVerifyNotPending {
		t.Fatalf("check canceled: %v", err)
	}
}

func TestStartValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, herald.VerifyLimits{})
	tests := []struct {
		r    StartRequest
		code string
	}{
		{StartRequest{To: "12"}, "invalid_phone_number"},
		{StartRequest{To: "+447911123005", Channel: "voice"}, "invalid_channel"},
		{StartRequest{To: "+447911123005", CodeLength: 3}, "invalid_code_length"},
		{StartRequest{To: "+447911123005", CodeLength: 11}, "invalid_code_length"},
		{StartRequest{To: "+447911123005", TTL: 59}, "invalid_ttl"},
		{StartRequest{To: "+447911123005", TTL: 1801}, "invalid_ttl"},
		{StartRequest{To: "+447911123005", Locale: "xx"}, "invalid_locale"},
		{StartRequest{To: "+447911123005", Template: "no code here"}, "invalid_template"},
		{StartRequest{To: "+447911123005", Template: "{code} {code}"}, "invalid_template"},
		{StartRequest{To: "+447911123005", AppHash: "short"}, "invalid_app_hash"},
		{StartRequest{To: "+447911123005", WebOTPDomain: "https://example.com"}, "invalid_webotp_domain"},
		{StartRequest{To: "+447911123005", From: "!!"}, "invalid_sender"},
	}
	for _, tc := range tests {
		if _, err := e.svc.Start(t.Context(), e.acc, tc.r); errCode(err) != tc.code {
			t.Errorf("%+v: %v, want %s", tc.r, err, tc.code)
		}
	}
	for _, c := range []string{"", "123", "12345678901", "12a456", "１２３４５６"} {
		if _, err := e.svc.Check(t.Context(), e.acc, "ver_x", c); errCode(err) != "invalid_code" {
			t.Errorf("code %q: %v", c, err)
		}
	}
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	warn := map[string]string{"en": "Do not share", "es": "No lo compartas", "fr": "Ne le partagez", "de": "niemanden",
		"pt": "Nao o partilhe", "it": "Non condividerlo", "nl": "Deel deze met niemand"}
	for _, lang := range Locales() {
		if !strings.Contains(templates[lang], warn[lang]) {
			t.Errorf("%s: no do-not-share warning: %q", lang, templates[lang])
		}
		// Ten digits, an app hash and a WebOTP line still fit one GSM-7 part.
		text := render(templates[lang], "0123456789", 30, "FA+9qCX9VSu", "login.example.com")
		a := smstext.Analyze(text, smstext.Options{})
		if a.Encoding != smstext.GSM7 || a.Parts != 1 {
			t.Errorf("%s: %d parts, %v: %q", lang, a.Parts, a.Encoding, text)
		}
		lines := strings.Split(text, "\n")
		if lines[len(lines)-1] != "@login.example.com #0123456789" {
			t.Errorf("%s: last line %q", lang, lines[len(lines)-1])
		}
	}
	for in, want := range map[string]string{"": "en", "pt-BR": "pt", "es_MX": "es", "DE": "de"} {
		if got, err := language(in); err != nil || got != want {
			t.Errorf("language(%q) = %q %v", in, got, err)
		}
	}
	if got := redact("1234 is it\n\n@a.com #1234", "1234"); got != "**** is it\n\n@a.com #****" {
		t.Errorf("redact: %q", got)
	}
}

func TestNewCodeUniform(t *testing.T) {
	t.Parallel()
	// Every digit at every position, about equally often: a coarse check
	// against bias (rand.Int rejects rather than reduces modulo).
	const n = 60000
	var counts [6][10]int
	for range n {
		c := newCode(6)
		if len(c) != 6 {
			t.Fatalf("code %q", c)
		}
		for i := range c {
			counts[i][c[i]-'0']++
		}
	}
	for i := range counts {
		for d, k := range counts[i] {
			if k < n/10*8/10 || k > n/10*12/10 {
				t.Errorf("position %d digit %d: %d of %d", i, d, k, n)
			}
		}
	}
}

func TestLoadKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k1, err := LoadKey("", dir)
	if err != nil || len(k1) != 32 {
		t.Fatalf("%x %v", k1, err)
	}
	k2, err := LoadKey("", dir)
	if err != nil || string(k1) != string(k2) {
		t.Fatal("the key file is not reused")
	}
	if fi, err := osStat(dir); err != nil || fi != 0o600 {
		t.Fatalf("key file mode %o %v", fi, err)
	}
	if _, err := LoadKey("too short", dir); err == nil {
		t.Fatal("a short key is accepted")
	}
	hexKey := strings.Repeat("ab", 32)
	if k, err := LoadKey(hexKey, dir); err != nil || len(k) != 32 || k[0] != 0xab {
		t.Fatalf("hex key: %x %v", k, err)
	}
}
