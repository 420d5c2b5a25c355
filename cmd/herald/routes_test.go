package main

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// TestRoutesEndToEnd: a platform with two carriers and a table sending
// UK OTPs to the second: the message goes there, and its history says
// which route chose it.
func TestRoutesEndToEnd(t *testing.T) {
	t.Parallel()
	sims := map[string]*smscsim.Simulator{}
	var carriers []CarrierConfig
	for _, name := range []string{"acme", "beta"} {
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
