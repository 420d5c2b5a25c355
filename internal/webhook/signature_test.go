package webhook

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test vector of the Standard Webhooks reference libraries
// (libraries/go/webhook_test.go, TestWebhookSign).
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignReferenceVector(t *testing.T) {
	t.Parallel()
	got, err := Sign(vectorSecret, vectorID, time.Unix(vectorTS, 0), []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != vectorSig {
		t.Fatalf("Sign = %s, want %s", got, vectorSig)
	}
	// The reference libraries accept the secret without its prefix too.
	got, err = Sign(strings.TrimPrefix(vectorSecret, SecretPrefix), vectorID, time.Unix(vectorTS, 0), []byte(vectorBody))
	if err != nil || got != vectorSig {
		t.Fatalf("Sign without prefix = %s, %v", got, err)
	}
	h := vectorHeader(vectorSig)
	if err := Verify(vectorSecret, h, []byte(vectorBody), time.Unix(vectorTS, 0), 0); err != nil {
		t.Fatalf("Verify(reference vector) = %v", err)
	}
}

func vectorHeader(sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, vectorID)
	h.Set(HeaderTimestamp, strconv.Itoa(vectorTS))
	h.Set(HeaderSignature, sig)
	return h
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(vectorTS, 0)
	body := []byte(vectorBody)
	other := NewSecret()
	otherSig, err := Sign(other, vectorID, now, body)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		secret string
		edit   func(http.Header)
		body   string
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{name: "valid"},
		{name: "lower-case header names", edit: func(h http.Header) {
			for k, v := range h {
				delete(h, k)
				h[strings.ToLower(k)] = v
			}
		}, want: nil},
		{name: "missing id", edit: func(h http.Header) { h.Del(HeaderID) }, want: ErrMissingHeader},
		{name: "missing timestamp", edit: func(h http.Header) { h.Del(HeaderTimestamp) }, want: ErrMissingHeader},
		{name: "missing signature", edit: func(h http.Header) { h.Del(HeaderSignature) }, want: ErrMissingHeader},
		{name: "empty signature", edit: func(h http.Header) { h.Set(HeaderSignature, "") }, want: ErrMissingHeader},
		{name: "id with a dot", edit: func(h http.Header) { h.Set(HeaderID, "msg.1") }, want: ErrBadID},
		{name: "timestamp not a number", edit: func(h http.Header) { h.Set(HeaderTimestamp, "yesterday") }, want: ErrBadTimestamp},
		{name: "timestamp with a plus", edit: func(h http.Header) { h.Set(HeaderTimestamp, "+1614265330") }, want: ErrBadTimestamp},
		{name: "timestamp with a leading zero", edit: func(h http.Header) { h.Set(HeaderTimestamp, "01614265330") }, want: ErrBadTimestamp},
		{name: "timestamp overflow", edit: func(h http.Header) { h.Set(HeaderTimestamp, "99999999999999999999") }, want: ErrBadTimestamp},
		{name: "timestamp in milliseconds", edit: func(h http.Header) { h.Set(HeaderTimestamp, "1614265330000") }, want: ErrTooNew},
		{name: "extreme negative timestamp", edit: func(h http.Header) { h.Set(HeaderTimestamp, "-9223372036854775808") }, want: ErrTooOld},
		{name: "at the old edge", now: now.Add(5 * time.Minute)},
		{name: "past the old edge", now: now.Add(5*time.Minute + time.Second), want: ErrTooOld},
		{name: "at the new edge", now: now.Add(-5 * time.Minute)},
		{name: "past the new edge", now: now.Add(-5*time.Minute - time.Second), want: ErrTooNew},
		{name: "custom tolerance", now: now.Add(time.Hour), tol: 2 * time.Hour},
		{name: "custom tolerance exceeded", now: now.Add(time.Hour), tol: 30 * time.Minute, want: ErrTooOld},
		{name: "body changed", body: `{"test": 2432232315}`, want: ErrNoSignature},
		{name: "body re-serialised", body: `{"test":2432232314}`, want: ErrNoSignature},
		{name: "id changed", edit: func(h http.Header) { h.Set(HeaderID, "msg_other") }, want: ErrNoSignature},
		{name: "timestamp changed", edit: func(h http.Header) { h.Set(HeaderTimestamp, strconv.Itoa(vectorTS+1)) }, want: ErrNoSignature},
		{name: "wrong secret", secret: other, want: ErrNoSignature},
		{name: "bad secret", secret: "whsec_!!!", want: ErrBadSecret},
		{name: "empty secret", secret: "whsec_", want: ErrBadSecret},
		{name: "several signatures, one matching", edit: func(h http.Header) {
			h.Set(HeaderSignature, otherSig+" v1a,"+strings.Repeat("A", 88)+" v2,x "+vectorSig)
		}},
		{name: "rotation: old and new secrets", secret: other, edit: func(h http.Header) {
			h.Set(HeaderSignature, vectorSig+" "+otherSig)
		}},
		{name: "extra spaces", edit: func(h http.Header) { h.Set(HeaderSignature, "  "+vectorSig+"  ") }},
		{name: "signature in a second header line", edit: func(h http.Header) {
			h.Set(HeaderSignature, otherSig)
			h.Add(HeaderSignature, vectorSig)
		}},
		{name: "right signature, wrong version", edit: func(h http.Header) {
			h.Set(HeaderSignature, "v1a,"+strings.TrimPrefix(vectorSig, "v1,"))
		}, want: ErrNoSignature},
		{name: "signature without version", edit: func(h http.Header) {
			h.Set(HeaderSignature, strings.TrimPrefix(vectorSig, "v1,"))
		}, want: ErrNoSignature},
		{name: "truncated signature", edit: func(h http.Header) { h.Set(HeaderSignature, vectorSig[:len(vectorSig)-2]) }, want: ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := vectorHeader(vectorSig)
			if tt.edit != nil {
				tt.edit(h)
			}
			secret, b, at := vectorSecret, body, now
			if tt.secret != "" {
				secret = tt.secret
			}
			if tt.body != "" {
				b = []byte(tt.body)
			}
			if !tt.now.IsZero() {
				at = tt.now
			}
			err := Verify(secret, h, b, at, tt.tol)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret[len(SecretPrefix):]) && len(secret) > len(SecretPrefix)+4 {
				t.Fatalf("error %q contains the secret", err)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	t.Parallel()
	ts := time.Unix(vectorTS, 0)
	for _, tt := range []struct {
		secret, id string
		want       error
	}{
		{"whsec_not base64", "msg_1", ErrBadSecret},
		{"", "msg_1", ErrBadSecret},
		{vectorSecret, "", ErrBadID},
		{vectorSecret, "msg.1", ErrBadID},
		{vectorSecret, "msg 1", ErrBadID},
		{vectorSecret, "msg\r\n1", ErrBadID},
		{vectorSecret, "msg_\xff", ErrBadID},
	} {
		if _, err := Sign(tt.secret, tt.id, ts, nil); !errors.Is(err, tt.want) {
			t.Errorf("Sign(%q, %q) = %v, want %v", tt.secret, tt.id, err, tt.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	for _, s := range []string{a, b} {
		if err := CheckSecret(s); err != nil {
			t.Fatalf("CheckSecret(NewSecret()) = %v", err)
		}
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
		if len(key) != 32 {
			t.Fatalf("secret has %d bytes", len(key))
		}
	}
}

func TestCheckSecret(t *testing.T) {
	t.Parallel()
	enc := func(n int) string { return SecretPrefix + base64.StdEncoding.EncodeToString(make([]byte, n)) }
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{vectorSecret, true}, // 24 bytes
		{enc(24), true},
		{enc(64), true},
		{enc(23), false},
		{enc(65), false},
		{strings.TrimPrefix(vectorSecret, SecretPrefix), false},
		{"whsec_%%%", false},
		{"", false},
	} {
		if err := CheckSecret(tt.s); (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadSecret)) {
			t.Errorf("CheckSecret(%q) = %v, want ok=%v", tt.s, err, tt.ok)
		}
	}
}

// FuzzVerify feeds Verify arbitrary headers and bodies (it must never
// panic) and checks that whatever Sign signs, Verify accepts.
func FuzzVerify(f *testing.F) {
	f.Add(vectorSecret, vectorID, strconv.Itoa(vectorTS), vectorSig, []byte(vectorBody), int64(vectorTS), int64(vectorTS))
	f.Add(vectorSecret, "", "", "", []byte{}, int64(0), int64(0))
	f.Add("whsec_", "msg.1", "+5", "v1,", []byte("x"), int64(-1), int64(1<<62))
	f.Add("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", "-9223372036854775808", "v1a,AAAA v1,BBBB  v1,", []byte("\x00\xff"), int64(-1<<63), int64(1<<63-1))
	f.Add(NewSecret(), "evt_01HX", "99999999999999999999", " v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= ", []byte(`{}`), int64(1700000000), int64(1700000300))
	f.Fuzz(func(t *testing.T, secret, id, ts, sig string, body []byte, signAt, now int64) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		Verify(secret, h, body, time.Unix(now, 0), 0)
		Verify(secret, h, body, time.Unix(now, 0), time.Duration(now))

		at := time.Unix(signAt, 0)
		s, err := Sign(secret, id, at, body)
		if err != nil {
			return
		}
		h.Set(HeaderTimestamp, strconv.FormatInt(signAt, 10))
		h.Set(HeaderSignature, s)
		if err := Verify(secret, h, body, at, 0); err != nil {
			t.Fatalf("Verify(Sign(%q, %q, %d)) = %v", secret, id, signAt, err)
		}
		// A signature among others still verifies.
		h.Set(HeaderSignature, sig+" "+s)
		if err := Verify(secret, h, body, at, 0); err != nil {
			t.Fatalf("Verify with extra signatures = %v", err)
		}
		// Any change to the body breaks it.
		if err := Verify(secret, h, append(body[:len(body):len(body)], 'x'), at, 0); !errors.Is(err, ErrNoSignature) {
			t.Fatalf("Verify(changed body) = %v, want ErrNoSignature", err)
		}
	})
}
