package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
	"github.com/herald-sms/herald/internal/webhook"
)

const (
	ourNumber = "+447700900001" // the test account's sender
	person    = "+447911123456"
)

// waitFor polls cond until it holds (binds coming up); it fails after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// twoWayPlatform starts Herald with binds simulator binds and registers
// ourNumber for the test account; storeURL, when set, is its store.
func twoWayPlatform(t *testing.T, binds int, storeURL ...string) *testPlatform {
	t.Helper()
	tp := startPlatform(t, func(c *Config) {
		c.Simulator.Binds = binds
		if len(storeURL) > 0 {
			c.Store = storeURL[0]
		}
	})
	if status, body := tp.do(t, "POST", "/v1/senders", `{"address":"`+ourNumber+`"}`, nil); status != http.StatusCreated {
		t.Fatalf("POST /v1/senders: %d %s", status, body)
	}
	waitFor(t, "the simulator binds", func() bool { return tp.Simulator.Stats().Sessions >= int64(binds) })
	return tp
}

// inject sends an MO from person to ourNumber and returns once Herald
// acknowledged every part (so every part is durable).
func (tp *testPlatform) inject(t *testing.T, mo smscsim.MO) {
	t.Helper()
	if mo.From == "" {
		mo.From, mo.To = person, ourNumber
	}
	if _, err := tp.Simulator.Inject(t.Context(), mo); err != nil {
		t.Fatalf("inject %q: %v", mo.Text, err)
	}
}

// sentTo returns the bodies of the messages Herald accepted to number.
func (tp *testPlatform) sentTo(t *testing.T, number string) []string {
	t.Helper()
	ms, _, err := tp.Store.ListMessages(t.Context(), tp.account.ID, store.MessageFilter{To: number, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(ms) - 1; i >= 0; i-- {
		out = append(out, ms[i].Body)
	}
	return out
}

func errorCode(body []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error.Code
}

// TestInboundStopStartHelp is must-show (a): an inbound STOP from the
// simulator records an opt-out with its evidence, is confirmed exactly
// once, and makes the API refuse a send to that number with
// recipient_opted_out; START reverses it; HELP is answered.
func TestInboundStopStartHelp(t *testing.T) {
	t.Parallel()
	inboundStopStartHelp(t, twoWayPlatform(t, 1))
}

// TestInboundStopStartHelpOnPostgres is the same with the PostgreSQL store
// (HERALD_TEST_POSTGRES_URL).
func TestInboundStopStartHelpOnPostgres(t *testing.T) {
	t.Parallel()
	inboundStopStartHelp(t, twoWayPlatform(t, 1, pgtest.URL(t)))
}

func inboundStopStartHelp(t *testing.T, tp *testPlatform) {
	send := func() (int, []byte) {
		return tp.do(t, "POST", "/v1/messages", `{"to":"`+person+`","from":"`+ourNumber+`","body":"Your order shipped"}`, nil)
	}
	if status, body := send(); status != http.StatusAccepted {
		t.Fatalf("send before STOP: %d %s", status, body)
	}

	tp.inject(t, smscsim.MO{Text: "Stop."})
	tp.inject(t, smscsim.MO{Text: "STOP"}) // a second STOP: no second confirmation
	sent := tp.sentTo(t, person)
	var confirmations int
	for _, b := range sent {
		if strings.HasPrefix(b, "You have been unsubscribed") {
			confirmations++
		}
	}
	if confirmations != 1 {
		t.Fatalf("%d STOP confirmations, want 1 (sent: %q)", confirmations, sent)
	}
	t.Logf("after STOP, STOP: sent to %s: %q", person, sent)
	status, body := send()
	if status != http.StatusUnprocessableEntity || errorCode(body) != "recipient_opted_out" {
		t.Fatalf("send after STOP: %d %s; want 422 recipient_opted_out", status, body)
	}
	t.Logf("send after STOP: %d %s", status, strings.TrimSpace(string(body)))
	// Per item in a batch too.
	status, body = tp.do(t, "POST", "/v1/messages/batch", `{"messages":[{"to":"`+person+`","from":"`+ourNumber+`","body":"a"},{"to":"+447911123457","from":"`+ourNumber+`","body":"b"}]}`, nil)
	if !strings.Contains(string(body), "recipient_opted_out") || !strings.Contains(string(body), `"accepted":1,"rejected":1`) {
		t.Fatalf("batch after STOP: %d %s", status, body)
	}
	status, body = tp.do(t, "GET", "/v1/opt-outs/ledger?number="+url.QueryEscape(person), "", nil)
	if status != 200 || !strings.Contains(string(body), `"action":"opt_out"`) || !strings.Contains(string(body), `"keyword":"STOP"`) ||
		!strings.Contains(string(body), `"inbound_id":"inb_`) {
		t.Fatalf("ledger: %d %s", status, body)
	}
	t.Logf("ledger: %s", strings.TrimSpace(string(body)))

	tp.inject(t, smscsim.MO{Text: "start"})
	if status, body := send(); status != http.StatusAccepted {
		t.Fatalf("send after START: %d %s", status, body)
	}
	tp.inject(t, smscsim.MO{Text: "HELP"})
	sent = tp.sentTo(t, person)
	if n := len(sent); n < 3 || !strings.HasPrefix(sent[n-3], "You have been resubscribed") || sent[n-2] != "Your order shipped" ||
		!strings.HasPrefix(sent[n-1], "Reply STOP") {
		t.Fatalf("after START and HELP: %q", sent)
	}
	t.Logf("after START, send, HELP: sent to %s: %q", person, sent)

	// The conversation shows both directions in order.
	status, body = tp.do(t, "GET", "/v1/conversations/"+url.PathEscape(person), "", nil)
	var conv struct {
		Data []struct {
			Direction string
			Message   struct{ Body string }
		}
	}
	json.Unmarshal(body, &conv)
	var dirs []string
	for _, it := range conv.Data {
		dirs = append(dirs, it.Direction[:1]+":"+it.Message.Body)
	}
	want := []string{"o:Your order shipped", "i:Stop.", "o:You have been unsubscribed", "i:STOP", "i:start", "o:You have been resubscribed",
		"o:Your order shipped", "i:HELP", "o:Reply STOP"}
	if status != 200 || len(dirs) != len(want) {
		t.Fatalf("conversation %d: %q", status, dirs)
	}
	for i := range want {
		if !strings.HasPrefix(dirs[i], want[i]) {
			t.Fatalf("conversation %q\nwant %q", dirs, want)
		}
	}
	t.Logf("conversation: %q", dirs)
}

// TestInboundReassemblyAcrossBinds is must-show (b) end to end: a
// three-part message delivered in reverse order across two binds is
// stored as one message with exactly the original text, in GSM-7 and in
// UCS-2.
func TestInboundReassemblyAcrossBinds(t *testing.T) {
	t.Parallel()
	inboundReassemblyAcrossBinds(t, twoWayPlatform(t, 2))
}

// TestInboundReassemblyAcrossBindsOnPostgres is the same with the PostgreSQL store
// (HERALD_TEST_POSTGRES_URL).
func TestInboundReassemblyAcrossBindsOnPostgres(t *testing.T) {
	t.Parallel()
	inboundReassemblyAcrossBinds(t, twoWayPlatform(t, 2, pgtest.URL(t)))
}

func inboundReassemblyAcrossBinds(t *testing.T, tp *testPlatform) {
	texts := []string{
		strings.Repeat("GSM-7 text with {braces} and €uro; ", 12), // 3 parts of GSM-7 (extension table)
		strings.Repeat("Юникод и эмодзи 😀 — по-русски. ", 5),      // 3 parts of UCS-2
	}
	for i, text := range texts {
		res, err := tp.Simulator.Inject(t.Context(), smscsim.MO{From: person, To: ourNumber, Text: text, Reverse: true, Spread: true})
		if err != nil || res.Parts != 3 {
			t.Fatalf("inject %d: %+v %v; want 3 parts", i, res, err)
		}
	}
	status, body := tp.do(t, "GET", "/v1/messages?direction=inbound", "", nil)
	var list struct{ Data []herald.InboundView }
	if err := json.Unmarshal(body, &list); err != nil || status != 200 || len(list.Data) != 2 {
		t.Fatalf("inbound list: %d %s", status, body)
	}
	for i, m := range list.Data {
		want := texts[len(texts)-1-i] // newest first
		if m.Body != want || m.Parts != 3 || m.Received != 3 || m.Incomplete || m.From != person || m.To != ourNumber {
			t.Fatalf("inbound %d: %+v\nwant body %q", i, m, want)
		}
		t.Logf("inbound %s: %s, %d parts, body %q", m.ID, m.Encoding, m.Parts, m.Body)
	}
	if st := tp.Simulator.Stats(); st.Sessions != 2 {
		t.Fatalf("%d binds", st.Sessions)
	}
}

// TestInboundWebhookAndReply: message.received reaches the account's
// webhook, signed; the application's {"reply":…} is sent back from the
// same sender.
func TestInboundWebhookAndReply(t *testing.T) {
	t.Parallel()
	got := make(chan herald.InboundView, 4)
	var mu sync.Mutex
	var secret string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		sec := secret
		mu.Unlock()
		if err := webhook.Verify(sec, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev struct {
			Type string
			Data herald.InboundView
		}
		json.Unmarshal(body, &ev)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"reply":"Thanks, we got: ` + ev.Data.Body + `"}`))
		got <- ev.Data
	}))
	defer receiver.Close()
	tp := twoWayPlatform(t, 1)
	status, body := tp.do(t, "POST", "/v1/webhooks", `{"url":"`+receiver.URL+`","events":["message.received"]}`, nil)
	var ep struct{ Secret string }
	if json.Unmarshal(body, &ep); status != http.StatusCreated {
		t.Fatalf("POST /v1/webhooks: %d %s", status, body)
	}
	mu.Lock()
	secret = ep.Secret
	mu.Unlock()
	tp.inject(t, smscsim.MO{Text: "Is my order on its way?"})
	select {
	case m := <-got:
		if m.Body != "Is my order on its way?" || m.From != person || m.To != ourNumber || m.Direction != herald.Inbound {
			t.Fatalf("webhook data %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no message.received webhook within 30s")
	}
	waitFor(t, "the reply", func() bool {
		s := tp.sentTo(t, person)
		return len(s) == 1 && s[0] == "Thanks, we got: Is my order on its way?"
	})
}

// TestSenders: ownership is enforced and unique across accounts.
func TestSenders(t *testing.T) {
	t.Parallel()
	tp := twoWayPlatform(t, 1)
	if status, body := tp.do(t, "POST", "/v1/senders", `{"address":"`+ourNumber+`"}`, nil); status != http.StatusConflict || errorCode(body) != "sender_taken" {
		t.Fatalf("second registration: %d %s", status, body)
	}
	// Another account, which registered no sender, may use any sender
	// but ours.
	other, err := tp.Store.EnsureAccount(t.Context(), "other")
	if err != nil {
		t.Fatal(err)
	}
	secret, k := herald.NewAPIKey(other.ID)
	if err := tp.Store.CreateAPIKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	otherTP := *tp
	otherTP.key = secret
	if status, body := otherTP.do(t, "POST", "/v1/messages", `{"to":"`+person+`","from":"Shop","body":"x"}`, nil); status != http.StatusAccepted {
		t.Fatalf("any sender while none registered: %d %s", status, body)
	}
	if status, body := otherTP.do(t, "POST", "/v1/messages", `{"to":"`+person+`","from":"`+ourNumber+`","body":"x"}`, nil); status != http.StatusForbidden || errorCode(body) != "sender_not_owned" {
		t.Fatalf("another account's sender: %d %s", status, body)
	}
	status, body := tp.do(t, "POST", "/v1/messages", `{"to":"`+person+`","from":"Shop","body":"x"}`, nil)
	if status != http.StatusForbidden || errorCode(body) != "sender_not_owned" {
		t.Fatalf("unregistered sender: %d %s", status, body)
	}
	if status, body := tp.do(t, "PUT", "/v1/policy", `{"allow_any_sender":true}`, nil); status != 200 {
		t.Fatalf("PUT /v1/policy: %d %s", status, body)
	}
	if status, body := tp.do(t, "POST", "/v1/messages", `{"to":"`+person+`","from":"Shop","body":"x"}`, nil); status != http.StatusAccepted {
		t.Fatalf("any sender allowed: %d %s", status, body)
	}
	// Opt-outs by API, CSV import and export.
	if status, body := tp.do(t, "POST", "/v1/opt-outs", `{"number":"+447911000001"}`, nil); status != http.StatusCreated {
		t.Fatalf("POST /v1/opt-outs: %d %s", status, body)
	}
	status, body = tp.do(t, "POST", "/v1/opt-outs/import", "number,sender\n+447911000002,\n+447911000003,"+ourNumber+"\nnot-a-number\n",
		map[string]string{"Content-Type": "text/csv"})
	if status != 200 || !strings.Contains(string(body), `"imported":2`) || !strings.Contains(string(body), `"line":4`) {
		t.Fatalf("import: %d %s", status, body)
	}
	status, body = tp.do(t, "GET", "/v1/opt-outs/export", "", nil)
	if status != 200 || strings.Count(string(body), "\n") != 4 {
		t.Fatalf("export: %d %s", status, body)
	}
	if status, body := tp.do(t, "DELETE", "/v1/opt-outs/%2B447911000001", "", nil); status != 422 || errorCode(body) != "reason_required" {
		t.Fatalf("removal without reason: %d %s", status, body)
	}
	if status, body := tp.do(t, "DELETE", "/v1/opt-outs/%2B447911000001?reason=asked+by+phone", "", nil); status != 204 {
		t.Fatalf("removal: %d %s", status, body)
	}
}

// TestTwoWayBadInputs: each bad request to the two-way endpoints gets its
// documented status and code.
func TestTwoWayBadInputs(t *testing.T) {
	t.Parallel()
	tp := twoWayPlatform(t, 1)
	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		code                     string
	}{
		{"sender not E.164", "POST", "/v1/senders", `{"address":"447700900002"}`, nil, 422, "invalid_sender"},
		{"sender symbols", "POST", "/v1/senders", `{"address":"Shop!"}`, nil, 422, "invalid_sender"},
		{"unknown sender field", "POST", "/v1/senders", `{"address":"ACME","colour":"red"}`, nil, 400, "unknown_field"},
		{"delete unknown sender", "DELETE", "/v1/senders/snd_nope", "", nil, 404, "not_found"},
		{"bad scope", "PUT", "/v1/policy", `{"opt_out_scope":"world"}`, nil, 400, "invalid_parameter"},
		{"bad exemption", "PUT", "/v1/policy", `{"exempt":["spam"]}`, nil, 400, "invalid_parameter"},
		{"conversation with a bad number", "GET", "/v1/conversations/12345", "", nil, 422, "invalid_phone_number"},
		{"conversation bad cursor", "GET", "/v1/conversations/%2B447911123456?cursor=xyz", "", nil, 400, "invalid_cursor"},
		{"inbound unknown filter", "GET", "/v1/inbound?colour=red", "", nil, 400, "unknown_parameter"},
		{"messages bad direction", "GET", "/v1/messages?direction=sideways", "", nil, 400, "invalid_parameter"},
		{"unknown inbound", "GET", "/v1/inbound/inb_nope", "", nil, 404, "not_found"},
		{"opt-out bad number", "POST", "/v1/opt-outs", `{"number":"+44123"}`, nil, 422, "invalid_phone_number"},
		{"remove absent opt-out", "DELETE", "/v1/opt-outs/%2B447911123456?reason=test", "", nil, 404, "not_found"},
		{"import as JSON", "POST", "/v1/opt-outs/import", `{}`, nil, 415, "unsupported_media_type"},
		{"import not CSV", "POST", "/v1/opt-outs/import", "\"unterminated\n", map[string]string{"Content-Type": "text/csv"}, 422, "invalid_csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := tp.do(t, tc.method, tc.path, tc.body, tc.header)
			if status != tc.status || errorCode(body) != tc.code {
				t.Fatalf("got %d %q, want %d %q (%.200s)", status, errorCode(body), tc.status, tc.code, body)
			}
		})
	}
}

// TestOptOutRejectsScheduled: a message scheduled before the STOP is
// rejected by it, never sent.
func TestOptOutRejectsScheduled(t *testing.T) {
	t.Parallel()
	optOutRejectsScheduled(t, twoWayPlatform(t, 1))
}

// TestOptOutRejectsScheduledOnPostgres is the same with the PostgreSQL store
// (HERALD_TEST_POSTGRES_URL).
func TestOptOutRejectsScheduledOnPostgres(t *testing.T) {
	t.Parallel()
	optOutRejectsScheduled(t, twoWayPlatform(t, 1, pgtest.URL(t)))
}

func optOutRejectsScheduled(t *testing.T, tp *testPlatform) {
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	status, body := tp.do(t, "POST", "/v1/messages", `{"to":"`+person+`","from":"`+ourNumber+`","body":"Sale tomorrow","type":"marketing","send_at":"`+at+`"}`, nil)
	var m herald.MessageView
	if json.Unmarshal(body, &m); status != http.StatusAccepted || m.Status != herald.StatusScheduled {
		t.Fatalf("schedule: %d %s", status, body)
	}
	tp.inject(t, smscsim.MO{Text: "UNSUBSCRIBE"})
	status, body = tp.do(t, "GET", "/v1/messages/"+m.ID, "", nil)
	if json.Unmarshal(body, &m); status != 200 || m.Status != herald.StatusRejected || m.ErrorCode != "recipient_opted_out" {
		t.Fatalf("scheduled message after STOP: %d %s", status, body)
	}
	t.Logf("scheduled message after UNSUBSCRIBE: %s %s", m.Status, m.ErrorCode)
}
