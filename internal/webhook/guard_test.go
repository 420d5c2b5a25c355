package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr     string
		blocked  bool
		loopback bool // blocked unless loopback is allowed
	}{
		// Public unicast.
		{addr: "8.8.8.8"},
		{addr: "1.1.1.1"},
		{addr: "93.184.216.34"},
		{addr: "100.63.255.255"}, // just below CGNAT
		{addr: "100.128.0.0"},    // just above CGNAT
		{addr: "172.15.255.255"}, // just below 172.16/12
		{addr: "172.32.0.0"},     // just above
		{addr: "169.253.255.255"},
		{addr: "2606:4700:4700::1111"},
		{addr: "2a00:1450:4001:82a::200e"},
		{addr: "::ffff:8.8.8.8"},
		{addr: "64:ff9b::808:808"}, // NAT64 of 8.8.8.8
		{addr: "2002:808:808::1"},  // 6to4 of 8.8.8.8

		// Loopback.
		{addr: "127.0.0.1", loopback: true},
		{addr: "127.255.255.254", loopback: true},
		{addr: "::1", loopback: true},
		{addr: "::ffff:127.0.0.1", loopback: true},

		// Never allowed.
		{addr: "0.0.0.0", blocked: true},
		{addr: "0.1.2.3", blocked: true},
		{addr: "::", blocked: true},
		{addr: "10.0.0.1", blocked: true},
		{addr: "10.255.255.255", blocked: true},
		{addr: "172.16.0.1", blocked: true},
		{addr: "172.31.255.255", blocked: true},
		{addr: "192.168.1.1", blocked: true},
		{addr: "100.64.0.1", blocked: true},
		{addr: "100.127.255.255", blocked: true},
		{addr: "169.254.169.254", blocked: true}, // cloud metadata
		{addr: "169.254.0.1", blocked: true},
		{addr: "192.0.0.170", blocked: true},
		{addr: "192.0.2.1", blocked: true},
		{addr: "198.18.0.1", blocked: true},
		{addr: "224.0.0.1", blocked: true},
		{addr: "239.255.255.250", blocked: true},
		{addr: "240.0.0.1", blocked: true},
		{addr: "255.255.255.255", blocked: true},
		{addr: "fc00::1", blocked: true},
		{addr: "fd12:3456:789a::1", blocked: true},
		{addr: "fe80::1", blocked: true},
		{addr: "fe80::1%eth0", blocked: true},
		{addr: "fec0::1", blocked: true},
		{addr: "ff02::1", blocked: true},
		{addr: "2001:db8::1", blocked: true},
		{addr: "2001::1", blocked: true}, // Teredo
		{addr: "100::1", blocked: true},
		// IPv4-mapped, IPv4-compatible and translated forms.
		{addr: "::ffff:10.0.0.1", blocked: true},
		{addr: "::ffff:169.254.169.254", blocked: true},
		{addr: "::ffff:a9fe:a9fe", blocked: true},
		{addr: "::ffff:0.0.0.0", blocked: true},
		{addr: "::127.0.0.1", blocked: true},
		{addr: "::10.0.0.1", blocked: true},
		{addr: "64:ff9b::a9fe:a9fe", blocked: true}, // NAT64 of the metadata address
		{addr: "64:ff9b::7f00:1", blocked: true},    // NAT64 of loopback: not ours to allow
		{addr: "64:ff9b:1::a00:1", blocked: true},   // local-use NAT64
		{addr: "2002:a9fe:a9fe::1", blocked: true},  // 6to4 of the metadata address
		{addr: "2002:c0a8:101::1", blocked: true},   // 6to4 of 192.168.1.1
		{addr: "2002:7f00:1::1", blocked: true},     // 6to4 of loopback
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.addr)
		for _, allow := range []bool{false, true} {
			err := checkAddr(ip, allow)
			wantBlocked := tt.blocked || tt.loopback && !allow
			if (err != nil) != wantBlocked {
				t.Errorf("checkAddr(%s, allowLoopback=%v) = %v, want blocked=%v", tt.addr, allow, err, wantBlocked)
			}
			if err != nil && !errors.Is(err, ErrBlocked) {
				t.Errorf("checkAddr(%s) = %v, does not match ErrBlocked", tt.addr, err)
			}
		}
	}
	if err := checkAddr(netip.MustParseAddr("169.254.169.254"), false); !strings.Contains(err.Error(), "metadata") {
		t.Errorf("metadata error does not say so: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url      string
		ok       bool
		loopback bool // ok only with allowLoopback
		blocked  bool // the error matches ErrBlocked
	}{
		{url: "https://hooks.example.com/herald", ok: true},
		{url: "http://hooks.example.com:8080/x?token=abc", ok: true},
		{url: "https://HOOKS.Example.COM./x", ok: true},
		{url: "https://8.8.8.8/x", ok: true},
		{url: "https://[2606:4700:4700::1111]:443/x", ok: true},
		{url: "https://my_host.example.com/x", ok: true},
		{url: "https://xn--bcher-kva.example/x", ok: true},
		{url: "https://127.0.0.1.nip.io/x", ok: true}, // a name: the transport checks what it resolves to

		{url: "http://127.0.0.1:8080/x", loopback: true, blocked: true},
		{url: "http://[::1]/x", loopback: true, blocked: true},
		{url: "http://localhost:3000/x", loopback: true, blocked: true},
		{url: "http://LOCALHOST./x", loopback: true, blocked: true},
		{url: "http://api.localhost/x", loopback: true, blocked: true},
		{url: "http://[::ffff:127.0.0.1]/x", loopback: true, blocked: true},

		{url: "http://169.254.169.254/latest/meta-data/", blocked: true},
		{url: "http://[::ffff:169.254.169.254]/", blocked: true},
		{url: "http://[::ffff:a9fe:a9fe]/", blocked: true},
		{url: "http://10.0.0.1/", blocked: true},
		{url: "http://192.168.0.1/", blocked: true},
		{url: "http://100.64.0.1/", blocked: true},
		{url: "http://0.0.0.0/", blocked: true},
		{url: "http://[::]/", blocked: true},
		{url: "http://[fd00::1]/", blocked: true},
		{url: "http://[fe80::1%25eth0]/"},

		// Numeric forms resolvers disagree on.
		{url: "http://2130706433/"},
		{url: "http://0x7f000001/"},
		{url: "http://0x7f.0.0.1/"},
		{url: "http://0177.0.0.1/"},
		{url: "http://127.1/"},
		{url: "http://017700000001/"},
		{url: "http://10.1/"},

		{url: "ftp://example.com/"},
		{url: "file:///etc/passwd"},
		{url: "gopher://example.com/"},
		{url: "javascript:alert(1)"},
		{url: "//example.com/x"},
		{url: "/relative"},
		{url: "https:example.com"},
		{url: "https://"},
		{url: "https://user:s3cr3t@example.com/"},
		{url: "https://user@example.com/"},
		{url: "https://example.com:0/"},
		{url: "https://example.com:65536/"},
		{url: "https://example.com:080/"},
		{url: "https://example.com:/"},
		{url: "https://exa mple.com/"},
		{url: "https://bücher.example/"},
		{url: "https://example..com/"},
		{url: "https://" + strings.Repeat("a", 64) + ".com/"},
		{url: "https://example.com/" + strings.Repeat("a", 2048)},
		{url: "https://[::1/"},
		{url: "http://%31%32%37.0.0.1/"},
	}
	for _, tt := range tests {
		for _, allow := range []bool{false, true} {
			err := CheckURL(tt.url, allow)
			wantOK := tt.ok || tt.loopback && allow
			if (err == nil) != wantOK {
				t.Errorf("CheckURL(%q, allowLoopback=%v) = %v, want ok=%v", tt.url, allow, err, wantOK)
				continue
			}
			if err == nil {
				continue
			}
			if !errors.Is(err, ErrInvalidURL) {
				t.Errorf("CheckURL(%q) = %v, does not match ErrInvalidURL", tt.url, err)
			}
			if tt.blocked && !errors.Is(err, ErrBlocked) {
				t.Errorf("CheckURL(%q) = %v, does not match ErrBlocked", tt.url, err)
			}
			if strings.Contains(err.Error(), "token=abc") || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("CheckURL(%q) error leaks the URL: %v", tt.url, err)
			}
		}
	}
}

// countingServer counts the requests that reach it.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestTransportRefusesResolvedAddresses covers what CheckURL cannot see:
// a name that resolves (or rebinds) to an internal address.
func TestTransportRefusesResolvedAddresses(t *testing.T) {
	t.Parallel()
	srv, hits := countingServer(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	dns := map[string][]netip.Addr{
		"rebind.test":   {netip.MustParseAddr("127.0.0.1")},
		"metadata.test": {netip.MustParseAddr("169.254.169.254")},
		"mapped.test":   {netip.MustParseAddr("::ffff:127.0.0.1")},
		"mixed.test":    {netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("127.0.0.1")},
		"empty.test":    {},
	}
	lookups := atomic.Int64{}
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		lookups.Add(1)
		ips, ok := dns[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return ips, nil
	}
	get := func(allowLoopback bool, host string) error {
		c := &http.Client{Transport: newTransport(newGuard(allowLoopback, lookup))}
		defer c.CloseIdleConnections()
		resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	for _, host := range []string{"rebind.test", "metadata.test", "mapped.test", "mixed.test", "127.0.0.1", "::1"} {
		err := get(false, host)
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("GET %s with loopback refused: %v, want ErrBlocked", host, err)
		}
	}
	if err := get(false, "empty.test"); err == nil || errors.Is(err, ErrBlocked) {
		t.Errorf("GET empty.test: %v, want a no-address error", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the receiver saw %d requests through a refusing transport", n)
	}

	// With loopback allowed, the same names connect — mixed.test skips
	// its private address and uses the loopback one.
	for _, host := range []string{"rebind.test", "mapped.test", "mixed.test", "127.0.0.1"} {
		if err := get(true, host); err != nil {
			t.Errorf("GET %s with loopback allowed: %v", host, err)
		}
	}
	if err := get(true, "metadata.test"); !errors.Is(err, ErrBlocked) {
		t.Errorf("GET metadata.test with loopback allowed: %v, want ErrBlocked", err)
	}
	if n := hits.Load(); n != 4 {
		t.Fatalf("the receiver saw %d requests, want 4", n)
	}
	if lookups.Load() == 0 {
		t.Fatal("the transport never used its resolver")
	}
}

// TestTransportControl checks the socket-level check on its own: the
// dialler refuses a blocked address even when handed one directly.
func TestTransportControl(t *testing.T) {
	t.Parallel()
	srv, hits := countingServer(t)
	g := newGuard(false, defaultLookup)
	conn, err := g.dialer.DialContext(t.Context(), "tcp", srv.Listener.Addr().String())
	if err == nil {
		conn.Close()
		t.Fatal("dialer connected to a loopback address")
	}
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial = %v, want ErrBlocked", err)
	}
	if hits.Load() != 0 {
		t.Fatal("receiver saw a request")
	}
}
