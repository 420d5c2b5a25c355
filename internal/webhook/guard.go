package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrInvalidURL is wrapped by every error of CheckURL.
var ErrInvalidURL = errors.New("webhook: invalid URL")

// ErrBlocked is matched (errors.Is) by the errors of CheckURL and of the
// guarded transport when an address is not one webhooks may be sent to.
var ErrBlocked = errors.New("webhook: address not allowed")

// maxURLLen bounds a webhook URL.
const maxURLLen = 2048

// blockedError says which address was refused and why.
type blockedError struct {
	addr   netip.Addr
	reason string
}

func (e *blockedError) Error() string {
	return fmt.Sprintf("%s is %s address", e.addr, e.reason)
}

func (e *blockedError) Is(target error) bool { return target == ErrBlocked }

// blockedRange is a prefix webhooks may not be sent to.
type blockedRange struct {
	prefix netip.Prefix
	reason string // completes "<addr> is …"
}

// blockedRanges lists the special-purpose ranges (RFC 6890 and its
// successors) that are not publicly routable unicast. Loopback and the
// unspecified address are checked before it; IPv4-mapped IPv6 addresses
// are unmapped first; NAT64 and 6to4 addresses are checked again by the
// IPv4 address they embed.
var blockedRanges = func() []blockedRange {
	list := []struct{ cidr, reason string }{
		{"0.0.0.0/8", "a \"this network\""},
		{"10.0.0.0/8", "a private"},
		{"100.64.0.0/10", "a shared (CGNAT)"},
		{"169.254.0.0/16", "a link-local (cloud metadata)"},
		{"172.16.0.0/12", "a private"},
		{"192.0.0.0/24", "an IETF protocol"},
		{"192.0.2.0/24", "a documentation"},
		{"192.88.99.0/24", "a 6to4 relay"},
		{"192.168.0.0/16", "a private"},
		{"198.18.0.0/15", "a benchmarking"},
		{"198.51.100.0/24", "a documentation"},
		{"203.0.113.0/24", "a documentation"},
		{"224.0.0.0/4", "a multicast"},
		{"240.0.0.0/4", "a reserved"}, // and 255.255.255.255, broadcast
		{"::/96", "an IPv4-compatible (deprecated)"},
		{"64:ff9b:1::/48", "a local NAT64"},
		{"100::/64", "a discard-only"},
		{"2001::/23", "an IETF protocol (Teredo, ORCHID)"},
		{"2001:db8::/32", "a documentation"},
		{"3fff::/20", "a documentation"},
		{"fc00::/7", "a unique local (private)"},
		{"fe80::/10", "a link-local"},
		{"fec0::/10", "a site-local (deprecated)"},
		{"ff00::/8", "a multicast"},
	}
	out := make([]blockedRange, len(list))
	for i, r := range list {
		out[i] = blockedRange{netip.MustParsePrefix(r.cidr), r.reason}
	}
	return out
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// checkAddr returns an error matching ErrBlocked when ip is not a public
// unicast address. Loopback addresses pass when allowLoopback is set.
func checkAddr(ip netip.Addr, allowLoopback bool) error {
	if !ip.IsValid() {
		return &blockedError{ip, "an invalid"}
	}
	orig := ip
	ip = ip.WithZone("").Unmap()
	blocked := func(reason string) error { return &blockedError{orig, reason} }
	switch {
	case ip.IsLoopback():
		if allowLoopback {
			return nil
		}
		return blocked("a loopback")
	case ip.IsUnspecified():
		return blocked("an unspecified")
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return blocked(r.reason)
		}
	}
	// Addresses that a translator or relay turns into an IPv4 address are
	// judged by that address (a NAT64 gateway would reach 10.0.0.1 for
	// 64:ff9b::a00:1). Loopback is never allowed through them.
	if b := ip.As16(); nat64.Contains(ip) || sixToFour.Contains(ip) {
		var v4 netip.Addr
		if nat64.Contains(ip) {
			v4 = netip.AddrFrom4([4]byte(b[12:16]))
		} else {
			v4 = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if err := checkAddr(v4, false); err != nil {
			return blocked(fmt.Sprintf("a translated IPv4 (%s)", v4))
		}
	}
	return nil
}

// CheckURL validates a webhook URL when an endpoint or a callback URL is
// created: the scheme is http or https, there is a host and no userinfo,
// the port (if any) is 1-65535, an IP literal is a public unicast address
// (loopback only with allowLoopback), "localhost" names are refused
// unless allowLoopback, and a host that only looks numeric ("2130706433",
// "0x7f.1", "127.1") is refused because resolvers disagree on what it
// means. Host names are otherwise checked again, after resolution, by the
// guarded transport each time a request is sent.
//
// Every error wraps ErrInvalidURL; those about an address also match
// ErrBlocked. Errors name the host but never the path or query, which may
// hold a token.
func CheckURL(raw string, allowLoopback bool) error {
	if len(raw) > maxURLLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidURL, maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: does not parse", ErrInvalidURL)
	}
	if err := checkParsedURL(u, allowLoopback); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	return nil
}

// checkParsedURL is CheckURL after parsing, shared with the Worker.
func checkParsedURL(u *url.URL, allowLoopback bool) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("scheme must be http or https")
	}
	if u.Opaque != "" || u.Host == "" {
		return errors.New("no host")
	}
	if u.User != nil {
		return errors.New("userinfo (user:password@) is not allowed")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || p[0] == '0' {
			return fmt.Errorf("bad port %.8q", p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return errors.New("empty port")
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return errors.New("IPv6 zones are not allowed")
		}
		return checkAddr(ip, allowLoopback)
	}
	if strings.HasPrefix(u.Host, "[") {
		return errors.New("bad IPv6 literal")
	}
	return checkHostname(host, allowLoopback)
}

// checkHostname checks the syntax of a DNS name.
func checkHostname(host string, allowLoopback bool) error {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "" || len(name) > 253 {
		return errors.New("bad host name length")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return fmt.Errorf("host name has %q; give international names in punycode (xn--)", rune(c))
		}
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return errors.New("bad host name label")
		}
	}
	// No top-level domain starts with a digit; such a name is a numeric
	// IP form that netip does not accept (octal, hex, short, decimal).
	if last := labels[len(labels)-1]; last[0] >= '0' && last[0] <= '9' {
		return fmt.Errorf("host %q is not a canonical IP address nor a DNS name", host)
	}
	if !allowLoopback && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return fmt.Errorf("host %q is a loopback name: %w", host, ErrBlocked)
	}
	return nil
}

// lookupFunc resolves a host name; tests replace net.DefaultResolver.
type lookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

func defaultLookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// guard is the dialler of the guarded transport.
type guard struct {
	allowLoopback bool
	lookup        lookupFunc
	dialer        net.Dialer
}

func newGuard(allowLoopback bool, lookup lookupFunc) *guard {
	g := &guard{allowLoopback: allowLoopback, lookup: lookup}
	g.dialer = net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		// A second check at the socket, on the address actually being
		// connected to: it holds even if dialContext is changed one day
		// to hand the dialler a name.
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: unexpected dial address %q", address)
			}
			return checkAddr(ap.Addr(), g.allowLoopback)
		},
	}
	return g
}

// dialContext resolves the host itself, drops every address checkAddr
// refuses, and connects to the first permitted one that answers. It
// dials the checked IP, never the name, so a second resolution cannot
// return another address (DNS rebinding).
func (g *guard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("webhook: bad port %q", portText)
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		if ips, err = g.lookup(ctx, host); err != nil {
			return nil, err
		}
	}
	var errs []error
	for _, ip := range ips {
		if err := checkAddr(ip, g.allowLoopback); err != nil {
			errs = append(errs, err)
			continue
		}
		conn, err := g.dialer.DialContext(ctx, network, netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("webhook: %s has no address", host)
	}
	if len(errs) == 1 {
		return nil, fmt.Errorf("webhook: %s: %w", host, errs[0])
	}
	return nil, fmt.Errorf("webhook: %s: %w", host, errors.Join(errs...))
}

// NewTransport returns an http.Transport for webhook requests that
// refuses, before connecting, every address that is not public unicast:
// loopback (unless allowLoopback, for development and tests), private
// (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with
// the cloud metadata address, fe80::/10), unspecified, multicast, CGNAT
// (100.64/10), 0/8, reserved and documentation ranges, and IPv4-mapped,
// NAT64 and 6to4 forms of them. It resolves names itself and connects to
// the address it checked. Refusals match ErrBlocked.
//
// It uses no proxy (HTTP_PROXY would move the check to the proxy's
// address) and requests no compression. Connections are kept alive;
// callers may tune the pool fields of the returned Transport. Redirects
// are the http.Client's business: the Worker does not follow them.
func NewTransport(allowLoopback bool) *http.Transport {
	return newTransport(newGuard(allowLoopback, defaultLookup))
}

func newTransport(g *guard) *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            g.dialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           512,
		MaxIdleConnsPerHost:    DefaultPerHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
}
