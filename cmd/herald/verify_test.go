package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/smstext"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
)

// codeSink collects the texts the carrier received, by destination.
type codeSink struct {
	mu    sync.Mutex
	texts map[string]string // mu guards texts
	seen  func(dest, text string, at time.Time)
}

func (c *codeSink) onSubmit(s smscsim.Submitted) {
	text := smstext.DecodeGSM7(s.Content, 0, 0) // unpacked septets
	c.mu.Lock()
	c.texts["+"+strings.TrimPrefix(s.Dest.Addr, "+")] = text
	seen := c.seen
	c.mu.Unlock()
	if seen != nil {
		seen("+"+strings.TrimPrefix(s.Dest.Addr, "+"), text, s.At)
	}
}

func (c *codeSink) code(t testing.TB, to string) string {
	t.Helper()
	// Generous: the whole cmd/herald suite runs in parallel under -race.
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		text := c.texts[to]
		c.mu.Unlock()
		if f := strings.Fields(text); len(f) > 0 {
			return f[0]
		}
		time.Sleep(5 * time.Millisecond) // polling the carrier side of a real platform
	}
	t.Fatalf("no code reached the carrier for %s", to)
	return ""
}

// startVerifyPlatform starts a platform whose carrier is an in-process
// simulator that hands every submit to the sink.
func startVerifyPlatform(t testing.TB, mutate func(*Config)) (*testPlatform, *codeSink) {
	t.Helper()
	sink := &codeSink{texts: map[string]string{}}
	sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0", OnSubmit: sink.onSubmit})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		sim.Shutdown(sctx)
		cancel()
	})
	host, port, _ := net.SplitHostPort(sim.Addr())
	n, _ := strconv.Atoi(port)
	tp := startPlatform(t, func(c *Config) {
		off := false
		c.Simulator.Enabled = &off
		c.Carriers = []CarrierConfig{{Name: "sim", Host: host, Port: n, SystemID: "herald", Password: "simulator", Binds: 2, Window: 200}}
		if mutate != nil {
			mutate(c)
		}
	})
	return tp, sink
}

func TestVerifyEndToEnd(t *testing.T) {
	t.Parallel()
	verifyEndToEnd(t, nil)
}

// TestVerifyEndToEndOnPostgres is the same with the store in PostgreSQL
// (HERALD_TEST_POSTGRES_URL).
func TestVerifyEndToEndOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	verifyEndToEnd(t, func(c *Config) { c.Store = url })
}

func verifyEndToEnd(t *testing.T, mutate func(*Config)) {
	tp, sink := startVerifyPlatform(t, mutate)
	status, body := tp.do(t, "POST", "/v1/verifications", `{"to":"+447911123456","locale":"de","webotp_domain":"example.com"}`, nil)
	if status != http.StatusCreated {
		t.Fatalf("start: %d %s", status, body)
	}
	var v struct {
		ID, Status string
	}
	json.Unmarshal(body, &v)
	code := sink.code(t, "+447911123456")
	if !strings.HasSuffix(sink.texts["+447911123456"], "@example.com #"+code) || !strings.Contains(sink.texts["+447911123456"], "niemanden") {
		t.Fatalf("text at the carrier: %q", sink.texts["+447911123456"])
	}
	// The stored message has the code masked.
	status, body = tp.do(t, "GET", "/v1/messages?reference="+v.ID, "", nil)
	if status != 200 || strings.Contains(string(body), code) || !strings.Contains(string(body), `"type":"otp"`) {
		t.Fatalf("message: %d %s", status, body)
	}
	// A wrong code, then an unknown id: the same shape.
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	_, a := tp.do(t, "POST", "/v1/verifications/"+v.ID+"/check", `{"code":"`+wrong+`"}`, nil)
	_, b := tp.do(t, "POST", "/v1/verifications/ver_01jzzzzzzzzzzzzzzzzzzzzzzz/check", `{"code":"`+wrong+`"}`, nil)
	shape := func(b []byte) string {
		var m map[string]any
		json.Unmarshal(b, &m)
		delete(m, "id")
		out, _ := json.Marshal(m)
		return string(out)
	}
	if shape(a) != shape(b) || !strings.Contains(string(a), `"checks_left":4`) {
		t.Fatalf("wrong code %s, unknown id %s", a, b)
	}
	status, body = tp.do(t, "POST", "/v1/verifications/"+v.ID+"/check", `{"code":"`+code+`"}`, nil)
	if status != 200 || !strings.Contains(string(body), `"status":"approved"`) {
		t.Fatalf("right code: %d %s", status, body)
	}
	status, body = tp.do(t, "POST", "/v1/verifications/"+v.ID+"/check", `{"code":"`+code+`"}`, nil)
	if status != http.StatusConflict || !strings.Contains(string(body), "verification_not_pending") {
		t.Fatalf("reuse: %d %s", status, body)
	}
	// Resend limits answer 429 with Retry-After.
	tp.do(t, "POST", "/v1/verifications", `{"to":"+447911123457"}`, nil)
	req, _ := http.NewRequest("POST", tp.url+"/v1/verifications", strings.NewReader(`{"to":"+447911123457"}`))
	req.Header.Set("Authorization", "Bearer "+tp.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("resend in cooldown: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// The approval reset the number's failures; unlocking clears nothing.
	status, body = tp.do(t, "POST", "/v1/verifications/unlock", `{"to":"+447911123456"}`, nil)
	if status != 200 || !strings.Contains(string(body), `"failures_cleared":0`) {
		t.Fatalf("unlock: %d %s", status, body)
	}
	status, body = tp.do(t, "GET", "/v1/verifications/"+v.ID, "", nil)
	if status != 200 || !strings.Contains(string(body), `"status":"approved"`) || strings.Contains(string(body), code) {
		t.Fatalf("get: %d %s", status, body)
	}
}

func TestFraudGuardEndToEnd(t *testing.T) {
	t.Parallel()
	tp, _ := startVerifyPlatform(t, func(c *Config) {
		c.DefaultRegion = "GB"
		c.Fraud.ConversionGrace = Duration(time.Millisecond) // judge conversion at once
	})
	// A high-risk destination is blocked until allowed.
	status, body := tp.do(t, "POST", "/v1/verifications", `{"to":"+994501234567"}`, nil)
	if status != http.StatusForbidden || !strings.Contains(string(body), "destination_blocked") {
		t.Fatalf("AZ: %d %s", status, body)
	}
	status, body = tp.do(t, "POST", "/v1/messages/batch", `{"messages":[{"to":"+994501234567","body":"hi"},{"to":"+447911123456","body":"hi"}]}`, nil)
	if status != http.StatusAccepted || !strings.Contains(string(body), `"code":"destination_blocked"`) || !strings.Contains(string(body), `"accepted":1`) {
		t.Fatalf("batch: %d %s", status, body)
	}
	// Pumping one prefix with verifications nobody approves blocks it.
	var last []byte
	for i := range 12 {
		status, last = tp.do(t, "POST", "/v1/verifications", fmt.Sprintf(`{"to":"+4479118800%02d"}`, i), nil)
		if status == http.StatusForbidden {
			break
		}
	}
	if status != http.StatusForbidden || !strings.Contains(string(last), "destination_blocked") {
		t.Fatalf("pumping: %d %s", status, last)
	}
	status, body = tp.do(t, "GET", "/v1/fraud/blocks", "", nil)
	var list struct {
		Data []struct {
			ID, Prefix string
			Active     bool
		}
	}
	json.Unmarshal(body, &list)
	if status != 200 || len(list.Data) != 1 || list.Data[0].Prefix != "+44791188" || !list.Data[0].Active {
		t.Fatalf("blocks: %d %s", status, body)
	}
	status, body = tp.do(t, "POST", "/v1/fraud/blocks/"+list.Data[0].ID+"/unblock", "", nil)
	if status != 200 || !strings.Contains(string(body), `"ended_by":"manual"`) {
		t.Fatalf("unblock: %d %s", status, body)
	}
	if status, body = tp.do(t, "POST", "/v1/verifications", `{"to":"+447911880099"}`, nil); status != http.StatusCreated {
		t.Fatalf("after the unblock: %d %s", status, body)
	}
}
