package main

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/routing"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
)

func TestRoutingTableConfig(t *testing.T) {
	t.Parallel()
	carriers := []string{"acme", "beta"}
	for _, tc := range []struct {
		name   string
		routes []RouteConfig
		err    string
	}{
		{"ok", []RouteConfig{{Name: "uk", Countries: []string{"gb"}, Types: []string{"otp"}, Senders: []string{"alphanumeric"},
			Carriers: []RouteCarrier{{Name: "acme", Weight: 2}, {Name: "beta"}}, Failover: []string{"beta"}}}, ""},
		{"unknown carrier", []RouteConfig{{Carriers: []RouteCarrier{{Name: "gamma"}}}}, `unknown carrier "gamma"`},
		{"unknown failover", []RouteConfig{{Carriers: []RouteCarrier{{Name: "acme"}}, Failover: []string{"x"}}}, `unknown carrier "x"`},
		{"unknown country", []RouteConfig{{Countries: []string{"XX"}, Carriers: []RouteCarrier{{Name: "acme"}}}}, `unknown country "XX"`},
		{"bad type", []RouteConfig{{Types: []string{"spam"}, Carriers: []RouteCarrier{{Name: "acme"}}}}, "message type"},
		{"bad sender", []RouteConfig{{Senders: []string{"robot"}, Carriers: []RouteCarrier{{Name: "acme"}}}}, "sender class"},
		{"no carriers", []RouteConfig{{Name: "empty"}}, "no carriers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := routingTable(tc.routes, carriers)
			if err != nil {
				t.Log(err)
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestRerouteOnConfig(t *testing.T) {
	t.Parallel()
	cc := CarrierConfig{Name: "acme", RerouteOn: []string{"0x400", "ESME_RINVDSTADR"}}
	if got, err := cc.rerouteOn(); err != nil || len(got) != 2 || got[0] != 0x400 || got[1] != pdu.StatusInvDstAdr {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"0", "ESME_NOPE"} {
		cc.RerouteOn = []string{bad}
		if _, err := cc.rerouteOn(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSenderLimitsConfig(t *testing.T) {
	t.Parallel()
	if l, err := (RoutingConfig{}).senderLimits(); l != nil || err != nil {
		t.Fatalf("no limits: %v %v", l, err)
	}
	if _, err := (RoutingConfig{SenderLimits: []SenderLimitConfig{{Sender: "long_code", Prefix: "+1", TPS: 1}}}).senderLimits(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []SenderLimitConfig{{Sender: "robot", TPS: 1}, {Sender: "long_code", TPS: 0}} {
		if _, err := (RoutingConfig{SenderLimits: []SenderLimitConfig{bad}}).limits(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	l, err := (RoutingConfig{AccountLimits: map[string]AccountLimitConfig{"*": {PerDay: 1000}, "acc_x": {PerSecond: 5}}}).limits()
	if err != nil {
		t.Fatal(err)
	}
	if rl := l.(*routing.Limits); rl.Default.PerDay != 1000 || rl.Accounts["acc_x"].PerSecond != 5 {
		t.Fatalf("account limits %+v", rl)
	}
	if _, err := (RoutingConfig{AccountLimits: map[string]AccountLimitConfig{"a": {PerDay: -1}}}).limits(); err == nil {
		t.Error("a negative quota accepted")
	}
}

// TestRoutesEndToEnd: a platform with two carriers and a table sending
// UK OTPs to the second: the message goes there, and its history says
// which route chose it.
func TestRoutesEndToEnd(t *testing.T) {
	t.Parallel()
	sims, carriers := startSims(t, "acme", "beta")
	tp := startPlatform(t, func(c *Config) {
		off := false
		c.Simulator.Enabled = &off
		c.Carriers = carriers
		c.Routes = []RouteConfig{{Name: "uk-otp", Countries: []string{"GB"}, Types: []string{"otp"},
			Carriers: []RouteCarrier{{Name: "beta"}}, Failover: []string{"acme"}}}
	})
	status, body := tp.do(t, "POST", "/v1/messages", `{"to":"+447911123456","body":"Your code is 1234","type":"otp"}`, nil)
	if status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", status, body)
	}
	id := strings.Split(strings.Split(string(body), `"id":"`)[1], `"`)[0]
	deadline := time.Now().Add(20 * time.Second)
	for sims["beta"].Stats().Submits == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing submitted to beta")
		}
		time.Sleep(20 * time.Millisecond) // polling for the outcome
	}
	if n := sims["acme"].Stats().Submits; n != 0 {
		t.Fatalf("acme got %d submits", n)
	}
	for {
		_, events := tp.do(t, "GET", "/v1/messages/"+id+"/events", "", nil)
		if strings.Contains(string(events), "route uk-otp: carrier beta") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the history does not record the routing decision: %s", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReload: a reload that changes a carrier's TPS and adds a route
// takes effect without a bind being dropped.
func TestReload(t *testing.T) {
	t.Parallel()
	sims, carriers := startSims(t, "acme", "beta")
	for i := range carriers {
		carriers[i].TPS = 50
	}
	var cfg Config
	tp := startPlatform(t, func(c *Config) {
		off := false
		c.Simulator.Enabled = &off
		c.Carriers = carriers
		cfg = *c
	})
	deadline := time.Now().Add(20 * time.Second)
	for sims["acme"].Stats().Sessions != 1 || sims["beta"].Stats().Sessions != 1 {
		if time.Now().After(deadline) {
			t.Fatal("not bound")
		}
		time.Sleep(20 * time.Millisecond) // polling for the binds
	}
	cfg.Carriers = append([]CarrierConfig(nil), carriers...)
	cfg.Carriers[0].TPS = 500
	cfg.Routes = []RouteConfig{{Name: "fr", Prefixes: []string{"33"}, Carriers: []RouteCarrier{{Name: "beta"}}}}
	if err := tp.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if got := tp.reload.links["acme"].Flow().TPS; got != 500 {
		t.Fatalf("acme's TPS after the reload: %v", got)
	}
	status, body := tp.do(t, "POST", "/v1/messages", `{"to":"+33612345678","body":"bonjour"}`, nil)
	if status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", status, body)
	}
	for sims["beta"].Stats().Submits == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the new route was not used")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, sim := range sims {
		if st := sim.Stats(); st.Binds != 1 || st.Sessions != 1 {
			t.Fatalf("%s: %d binds, %d up after the reload; want the one bind kept", name, st.Binds, st.Sessions)
		}
	}
	// A bad table is refused and the running one stays.
	cfg.Routes = []RouteConfig{{Carriers: []RouteCarrier{{Name: "nope"}}}}
	if err := tp.Reload(cfg); err == nil || !strings.Contains(err.Error(), "unknown carrier") {
		t.Fatalf("bad reload: %v", err)
	}
}

// TestCarriersEndpoint: GET /v1/carriers shows each carrier's binds,
// rate, queue and health to the operator, and to nobody else; GET
// /v1/cluster says the node runs alone.
func TestCarriersEndpoint(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t, func(c *Config) { c.AdminToken = "operator-secret" })
	get := func(token string) (int, string) { return getAdmin(t, tp.url+"/v1/carriers", token) }
	if status, body := getAdmin(t, tp.url+"/v1/cluster", "operator-secret"); status != http.StatusOK ||
		strings.TrimSpace(body) != `{"clustered":false,"nodes":[]}` {
		t.Fatalf("GET /v1/cluster on SQLite: %d %s", status, body)
	}
	if status, _ := getAdmin(t, tp.url+"/v1/cluster", tp.key); status != http.StatusUnauthorized {
		t.Fatalf("GET /v1/cluster with an account's API key got %d", status)
	}
	if status, _ := get(tp.key); status != http.StatusUnauthorized {
		t.Fatalf("an account's API key got %d", status)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body := get("operator-secret")
		if status != http.StatusOK {
			t.Fatalf("GET /v1/carriers: %d %s", status, body)
		}
		if strings.Contains(body, `"name":"simulator","up":true,"binds":[{"up":true`) {
			for _, k := range []string{`"tps":`, `"effective_tps":`, `"queue":{`, `"delivery_rate":`, `"outstanding":`} {
				if !strings.Contains(body, k) {
					t.Fatalf("no %s in %s", k, body)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("simulator not shown bound: %s", body)
		}
		time.Sleep(20 * time.Millisecond) // polling for the bind
	}
	// The API itself is unchanged.
	if status, body := tp.do(t, "GET", "/v1/messages", "", nil); status != http.StatusOK {
		t.Fatalf("GET /v1/messages: %d %s", status, body)
	}
}

// getAdmin GETs an operator endpoint with a bearer token.
func getAdmin(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String()
}

// startSims starts a simulator per name and returns them with carrier
// configurations pointing at them.
func startSims(t *testing.T, names ...string) (map[string]*smscsim.Simulator, []CarrierConfig) {
	t.Helper()
	sims := map[string]*smscsim.Simulator{}
	var carriers []CarrierConfig
	for _, name := range names {
		sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sim.Close() })
		sims[name] = sim
		host, port, _ := net.SplitHostPort(sim.Addr())
		n, _ := strconv.Atoi(port)
		carriers = append(carriers, CarrierConfig{Name: name, Host: host, Port: n, SystemID: "h", Password: "p"})
	}
	return sims, carriers
}

// TestOperatorRouting: routes by operator use libphonenumber's range
// data through the configuration.
func TestOperatorRouting(t *testing.T) {
	tb, err := routingTable([]RouteConfig{
		{Name: "uk", Countries: []string{"GB"}, Carriers: []RouteCarrier{{Name: "acme"}}},
		{Name: "uk-vodafone", Countries: []string{"gb"}, Operators: []string{"vodafone"}, Carriers: []RouteCarrier{{Name: "voda"}}},
	}, []string{"acme", "voda"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ to, want string }{
		{"+447500123456", "uk-vodafone"}, // a Vodafone UK range
		{"+447400123456", "uk"},          // a Three range
	} {
		r, err := tb.Match(&herald.Message{To: tc.to, Type: herald.TypeTransactional})
		if err != nil || r.Name != tc.want {
			t.Errorf("%s: route %v %v, want %s", tc.to, r, err, tc.want)
		}
	}
}

// TestIntakeEncodesForTheRoutedCarrier: the intake encodes a message for
// the carrier its route picks from all the rule's criteria, here the
// sender's class: alphanumeric senders go to beta, whose concatenation
// is SAR; others to acme (UDH).
func TestIntakeEncodesForTheRoutedCarrier(t *testing.T) {
	t.Parallel()
	_, carriers := startSims(t, "acme", "beta")
	carriers[1].Concat = "sar"
	tp := startPlatform(t, func(c *Config) {
		off := false
		c.Simulator.Enabled = &off
		c.Carriers = carriers
		c.Routes = []RouteConfig{{Name: "alpha", Senders: []string{"alphanumeric"}, Carriers: []RouteCarrier{{Name: "beta"}}}}
	})
	long := strings.Repeat("Your parcel is on its way. ", 8) // two parts
	for _, c := range []struct {
		from, carrier string
		sar           bool
	}{{"Acme", "beta", true}, {"447700900001", "acme", false}} {
		status, body := tp.do(t, "POST", "/v1/messages", `{"to":"+447911123456","from":"`+c.from+`","body":"`+long+`"}`, nil)
		if status != http.StatusAccepted {
			t.Fatalf("from %s: %d %s", c.from, status, body)
		}
		id := strings.Split(strings.Split(string(body), `"id":"`)[1], `"`)[0]
		m, err := tp.Store.Message(t.Context(), tp.account.ID, id, true)
		if err != nil {
			t.Fatal(err)
		}
		if m.Carrier != c.carrier || len(m.Parts) != 2 {
			t.Fatalf("from %s: carrier %s with %d parts, want %s with 2", c.from, m.Carrier, len(m.Parts), c.carrier)
		}
		p := m.Parts[0]
		if sar := p.SARRef != 0 || p.SARTotal != 0; sar != c.sar || (p.ESMClass&0x40 != 0) == c.sar {
			t.Errorf("from %s: part 1 has sar_ref %d, sar_total %d, esm_class %#x; want SAR %v", c.from, p.SARRef, p.SARTotal, p.ESMClass, c.sar)
		}
	}
}
