package herald

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSMPPPassword(t *testing.T) {
	t.Parallel()
	p := NewSMPPPassword()
	if len(p) != SMPPPasswordLen || strings.Trim(p, alnum) != "" {
		t.Fatalf("password %q", p)
	}
	h := HashSMPPPassword(p)
	if !strings.HasPrefix(h, "pbkdf2-sha256$20000$") || strings.Contains(h, p) {
		t.Fatalf("hash %q", h)
	}
	if h == HashSMPPPassword(p) {
		t.Fatal("the same hash twice: no salt")
	}
	cases := []struct {
		hash, password string
		want           bool
	}{
		{h, p, true},
		{h, p + "x", false},
		{h, "", false},
		{"", p, false},
		{"md5$1$a$b", p, false},
		{"pbkdf2-sha256$0$AAAA$AAAA", p, false},
		{"pbkdf2-sha256$x$AAAA$AAAA", p, false},
		{"pbkdf2-sha256$1000$!!$AAAA", p, false},
	}
	for _, tc := range cases {
		if got := VerifySMPPPassword(tc.hash, tc.password); got != tc.want {
			t.Errorf("Verify(%q, %q) = %v", tc.hash, tc.password, got)
		}
	}
}

func TestSMPPUserAllowsIP(t *testing.T) {
	t.Parallel()
	u := &SMPPUser{AllowedIPs: []string{"192.0.2.0/24", "2001:db8::1", "198.51.100.7"}}
	cases := []struct {
		addr string
		want bool
	}{
		{"192.0.2.55", true},
		{"::ffff:192.0.2.55", true},
		{"198.51.100.7", true},
		{"198.51.100.8", false},
		{"2001:db8::1", true},
		{"2001:db8::2", false},
	}
	for _, tc := range cases {
		if got := u.AllowsIP(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s: %v", tc.addr, got)
		}
	}
	if !(&SMPPUser{}).AllowsIP(netip.MustParseAddr("203.0.113.1")) {
		t.Error("an empty list must allow any address")
	}
}

func TestValidateSMPPUser(t *testing.T) {
	t.Parallel()
	cases := []struct {
		u    SMPPUser
		code string
	}{
		{SMPPUser{SystemID: "acme1"}, ""},
		{SMPPUser{SystemID: ""}, "invalid_system_id"},
		{SMPPUser{SystemID: "sixteen-chars-xx"}, "invalid_system_id"},
		{SMPPUser{SystemID: "a b"}, "invalid_system_id"},
		{SMPPUser{SystemID: "a", MaxBinds: -1}, "invalid_max_binds"},
		{SMPPUser{SystemID: "a", RateLimit: -1}, "invalid_rate_limit"},
		{SMPPUser{SystemID: "a", AllowedIPs: []string{"10.0.0.0/8", "nope"}}, "invalid_allowed_ips"},
	}
	for _, tc := range cases {
		err := ValidateSMPPUser(&tc.u)
		code := ""
		if err != nil {
			code = err.(*Error).Code
		}
		if code != tc.code {
			t.Errorf("%+v: %q, want %q", tc.u, code, tc.code)
		}
	}
}
