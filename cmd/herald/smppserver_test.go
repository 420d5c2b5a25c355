package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// requirePerlSMPP skips without perl's Net::SMPP, except under CI=true
// (where .ci/run installs it) where its absence fails the test.
func requirePerlSMPP(t *testing.T) {
	t.Helper()
	out, err := exec.Command("perl", "-MNet::SMPP", "-e", "print $Net::SMPP::VERSION").CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Net::SMPP unavailable: %v %s", err, out)
		}
		t.Skipf("Net::SMPP unavailable (install libnet-smpp-perl): %v", err)
	}
	t.Logf("client: Net::SMPP %s (perl), an SMPP implementation not written on this project", out)
}

// startSim starts an SMSC simulator (outside Herald, so that it keeps
// its receipts across a Herald restart), closed when the test ends.
func startSim(t testing.TB) *smscsim.Simulator {
	t.Helper()
	sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// runningPlatform is a Herald started by startStoppable.
type runningPlatform struct {
	*Platform
	stop func() error
}

// startStoppable starts Herald with cfg and returns it with a function
// that stops it (gracefully) and reports how it ended.
func startStoppable(t testing.TB, cfg Config) *runningPlatform {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *Platform, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- RunPlatform(ctx, cfg, log, func(p *Platform) { ready <- p }) }()
	select {
	case p := <-ready:
		stopped := false
		rp := &runningPlatform{Platform: p}
		rp.stop = func() error {
			if stopped {
				return nil
			}
			stopped = true
			cancel()
			return <-done
		}
		t.Cleanup(func() { rp.stop() })
		return rp
	case err := <-done:
		cancel()
		t.Fatalf("platform did not start: %v", err)
	}
	return nil
}

// TestSMPPClientPerl is the SMPP server's end-to-end test with an
// independent client: Net::SMPP binds a transmitter and a receiver to
// Herald's SMPP server (Herald's carrier is an SMSC simulator), submits
// 10,000 messages and waits for a receipt for every message id Herald
// returned. Mid-run its receiver drops its connection for 30 seconds
// (wall clock) and, once it is back, Herald is stopped and started again
// on the same data directory. Every receipt must arrive; duplicates are
// counted and logged with their cause.
func TestSMPPClientPerl(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 10,000 messages and a 30-second receiver outage")
	}
	requirePerlSMPP(t)
	const (
		count      = 10000
		pauseAfter = 3000
		pause      = 30 // seconds, as the requirement says
		// rate paces the submits (per second) so that they are still
		// flowing when the receiver comes back and Herald is restarted.
		rate = 200
	)
	sim := startSim(t)
	data := t.TempDir()
	st, err := sqlite.Open(data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := st.EnsureAccount(t.Context(), "perl")
	if err != nil {
		t.Fatal(err)
	}
	password := herald.NewSMPPPassword()
	u := &herald.SMPPUser{ID: herald.NewID("smu", time.Now().UnixMilli()), AccountID: acc.ID, SystemID: "perl",
		PasswordHash: herald.HashSMPPPassword(password)}
	if err := st.CreateSMPPUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// The SMPP port must stay the same across the restart.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smppAddr := l.Addr().String()
	l.Close()
	host, port, _ := net.SplitHostPort(sim.Addr())
	simPort, _ := strconv.Atoi(port)
	cfg := defaultConfig()
	cfg.Data, cfg.HTTP, cfg.SMPP = data, "127.0.0.1:0", smppAddr
	off := false
	cfg.Simulator.Enabled = &off
	cfg.Carriers = []CarrierConfig{{Name: "sim", Host: host, Port: simPort, SystemID: "herald", Password: "pw", Binds: 2, Window: 100}}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	p := startStoppable(t, cfg)

	smppHost, smppPort, _ := net.SplitHostPort(smppAddr)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "perl", "testdata/smpp_client.pl", "--count", strconv.Itoa(count),
		"--pause-after", strconv.Itoa(pauseAfter), "--pause", strconv.Itoa(pause), "--rate", strconv.Itoa(rate), "--timeout", "540",
		smppHost, smppPort, "perl", password)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var done map[string]string
	var downAt, upAt time.Time
	var downSeconds float64 // the outage as the client measured it
	restarted := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		name, fields := parseLine(line)
		switch name {
		case "progress", "bound", "lost", "receiver_down", "receiver_up", "done", "error", "refused":
			t.Logf("%6.1fs client: %s", time.Since(start).Seconds(), line)
		case "duplicate", "unknown":
			t.Logf("%6.1fs client: %s", time.Since(start).Seconds(), line)
		}
		switch name {
		case "receiver_down":
			downAt = time.Now()
		case "receiver_up":
			upAt = time.Now()
			downSeconds, _ = strconv.ParseFloat(fields["down_seconds"], 64)
		case "progress":
			// Restart Herald once the receiver is back and receipts flow.
			if !upAt.IsZero() && !restarted {
				restarted = true
				t.Logf("%6.1fs restarting Herald (stop, start on the same data directory)", time.Since(start).Seconds())
				if err := p.stop(); err != nil {
					t.Errorf("herald stopped with %v", err)
				}
				p = startStoppable(t, cfg)
				t.Logf("%6.1fs Herald started again", time.Since(start).Seconds())
			}
		case "done":
			done = fields
		}
	}
	err = cmd.Wait()
	if s := stderr.String(); s != "" && testing.Verbose() {
		t.Logf("client stderr (Net::SMPP warnings):\n%s", truncate(s, 2000))
	}
	if done == nil {
		t.Fatalf("client ended without a summary: %v\n%s", err, truncate(stderr.String(), 4000))
	}
	if err != nil {
		t.Errorf("client: %v", err)
	}
	if !restarted {
		t.Error("Herald was never restarted during the run")
	}
	if downAt.IsZero() || upAt.IsZero() || downSeconds < pause {
		t.Errorf("receiver outage %.2fs (client's clock), want at least %ds", downSeconds, pause)
	}
	n := func(k string) int { v, _ := strconv.Atoi(done[k]); return v }
	t.Logf("SUMMARY: submitted %d, accepted %d (resubmitted after a lost connection: %d; refused with ESME_RSYSERR or ESME_RTHROTTLED and retried: %d), receipts %d, unique %d, duplicates %d, missing %d, receipts for ids the client never got: %d, receiver outage %.2fs, %ss in all",
		n("submitted"), n("accepted"), n("resubmitted"), n("refused"), n("receipts"), n("unique"), n("duplicates"), n("missing"), n("unknown"),
		downSeconds, done["seconds"])
	if n("accepted") != count || n("missing") != 0 {
		t.Errorf("accepted %d of %d, %d receipts missing", n("accepted"), count, n("missing"))
	}
	// Herald recorded every acknowledgement it got: once stopped, what is
	// left in the client outbox can only be receipts sent again whose
	// deliver_sm were still in flight when the client, having every
	// receipt, unbound (at most one receipt window, 64).
	if err := p.stop(); err != nil {
		t.Errorf("herald stopped with %v", err)
	}
	st, err = sqlite.Open(data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	left, err := st.ClientMessages(t.Context(), acc.ID, 0, 1000)
	st.Close()
	t.Logf("receipts left in Herald's client outbox after the run: %d", len(left))
	if err != nil || len(left) > 64 {
		t.Errorf("%d receipts left in the outbox after the client had them all (%v)", len(left), err)
	}
	// Why duplicates happen, and their bound: a deliver_sm the client
	// answered whose response Herald did not record (the client dropped
	// its connection with unread deliver_sm in its socket, so the kernel
	// reset the connection and discarded the responses Herald had not
	// read yet; or Herald stopped before recording the acknowledgements
	// it had) is sent again. At most one receipt window (64) per lost
	// connection, plus the acknowledgements not yet recorded at a stop.
	if d := n("duplicates"); d > 4*64 {
		t.Errorf("%d duplicate receipts: more than the windows in flight at the disconnects explain", d)
	}
	// A receipt for an id the client never got is a message whose
	// submit_sm_resp was lost with the connection at the restart: the
	// client submitted it again (resubmitted), so it has two messages.
	if n("unknown") > n("resubmitted") {
		t.Errorf("%d receipts for unknown ids, but only %d resubmits", n("unknown"), n("resubmitted"))
	}
}

// parseLine splits a client event line: a name, then key=value fields.
func parseLine(line string) (string, map[string]string) {
	name, rest, _ := strings.Cut(line, " ")
	fields := map[string]string{}
	for _, kv := range strings.Fields(rest) {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = strings.Trim(v, `"`)
	}
	return name, fields
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// TestSMPPUsersAPIAndBind creates an SMPP user through the API, binds
// with its generated password, submits a message (a receipt comes back
// over the same transceiver bind), and checks that a deleted user can no
// longer bind.
func TestSMPPUsersAPIAndBind(t *testing.T) {
	smppUsersAPIAndBind(t, nil)
}

// TestSMPPUsersAPIAndBindOnPostgres is the same with the store in
// PostgreSQL (HERALD_TEST_POSTGRES_URL): the receipt is queued by Apply
// in the client outbox there.
func TestSMPPUsersAPIAndBindOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	smppUsersAPIAndBind(t, func(c *Config) { c.Store = url })
}

func smppUsersAPIAndBind(t *testing.T, mutate func(*Config)) {
	tp := startPlatform(t, func(c *Config) {
		c.SMPP = "127.0.0.1:0"
		if mutate != nil {
			mutate(c)
		}
	})
	code, body := tp.do(t, "POST", "/v1/smpp-users", `{"system_id":"apiuser","max_binds":2}`, nil)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var u struct {
		ID, Password string
		MaxBinds     int `json:"max_binds"`
	}
	if err := json.Unmarshal(body, &u); err != nil || len(u.Password) != herald.SMPPPasswordLen || u.MaxBinds != 2 {
		t.Fatalf("created %s (%v)", body, err)
	}
	if code, body := tp.do(t, "POST", "/v1/smpp-users", `{"system_id":"apiuser"}`, nil); code != 409 || !strings.Contains(string(body), "system_id_taken") {
		t.Fatalf("duplicate: %d %s", code, body)
	}
	if code, body := tp.do(t, "GET", "/v1/smpp-users", "", nil); code != 200 || strings.Contains(string(body), u.Password) ||
		!strings.Contains(string(body), `"system_id":"apiuser"`) {
		t.Fatalf("list: %d %s", code, body)
	}
	receipts := make(chan *pdu.DeliverSM, 4)
	h := smpp.HandlerFunc(func(r *smpp.Request) {
		if d, ok := r.Body.(*pdu.DeliverSM); ok {
			receipts <- d
		}
		r.Respond(pdu.StatusOK, nil)
	})
	s, err := smpp.Dial(t.Context(), tp.SMPPAddr, pdu.Bind{Role: pdu.Transceiver, SystemID: "apiuser", Password: u.Password}, smpp.Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Send(t.Context(), &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{TON: 5, Addr: "Herald"},
		Dest: pdu.Address{TON: 1, NPI: 1, Addr: "447911123456"}, RegisteredDelivery: 1, Message: []byte("hello over smpp")}})
	if err != nil || r.Error() != nil {
		t.Fatalf("submit: %v %v", err, r.Error())
	}
	id := r.Body.(*pdu.SubmitSMResp).MessageID
	if code, body := tp.do(t, "GET", "/v1/messages/"+id, "", nil); code != 200 || !strings.Contains(string(body), "hello over smpp") {
		t.Fatalf("the message over the API: %d %s", code, body)
	}
	select {
	case d := <-receipts:
		rid, _ := d.TLVs.CString(pdu.TagReceiptedMessageID)
		if rid != id || !strings.Contains(string(d.Message), "stat:DELIVRD") || !strings.HasPrefix(string(d.Message), "id:"+id) {
			t.Fatalf("receipt %q for %q", d.Message, rid)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no receipt")
	}
	if code, body := tp.do(t, "DELETE", "/v1/smpp-users/"+u.ID, "", nil); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if _, err := smpp.Dial(t.Context(), tp.SMPPAddr, pdu.Bind{Role: pdu.Transceiver, SystemID: "apiuser", Password: u.Password}, smpp.Config{}, nil); err == nil {
		t.Fatal("a deleted user could bind")
	}
}

// TestInboundToSMPPClient: inbound messages to an account's number reach
// its SMPP receiver as deliver_sm, in order, including one that arrived
// while no client was bound (it waited in the client outbox).
func TestInboundToSMPPClient(t *testing.T) {
	t.Parallel()
	inboundToSMPPClient(t, nil)
}

// TestInboundToSMPPClientOnPostgres is the same with the store in
// PostgreSQL: ReceiveInbound queues the client outbox rows there.
func TestInboundToSMPPClientOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	inboundToSMPPClient(t, func(c *Config) { c.Store = url })
}

func inboundToSMPPClient(t *testing.T, mutate func(*Config)) {
	tp := startPlatform(t, func(c *Config) {
		c.SMPP = "127.0.0.1:0"
		if mutate != nil {
			mutate(c)
		}
	})
	if status, body := tp.do(t, "POST", "/v1/senders", `{"address":"`+ourNumber+`"}`, nil); status != http.StatusCreated {
		t.Fatalf("POST /v1/senders: %d %s", status, body)
	}
	code, body := tp.do(t, "POST", "/v1/smpp-users", `{"system_id":"inbox"}`, nil)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var u struct{ Password string }
	if err := json.Unmarshal(body, &u); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the simulator binds", func() bool { return tp.Simulator.Stats().Sessions >= 1 })

	// No client is bound yet: the reply waits durably.
	tp.inject(t, smscsim.MO{Text: "yes, confirm my appointment"})

	got := make(chan *pdu.DeliverSM, 4)
	h := smpp.HandlerFunc(func(r *smpp.Request) {
		if d, ok := r.Body.(*pdu.DeliverSM); ok {
			got <- d
		}
		r.Respond(pdu.StatusOK, nil)
	})
	s, err := smpp.Dial(t.Context(), tp.SMPPAddr, pdu.Bind{Role: pdu.Receiver, SystemID: "inbox", Password: u.Password}, smpp.Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tp.inject(t, smscsim.MO{Text: "Merci 🙂 à demain"})

	want := []struct {
		text string
		dc   uint8
	}{{"yes, confirm my appointment", 0}, {"Merci 🙂 à demain", 8}}
	for i, w := range want {
		select {
		case d := <-got:
			var text string
			if d.DataCoding == 8 {
				text = string(utf16.Decode(beUint16s(d.Message)))
			} else {
				text = string(d.Message)
			}
			if text != w.text || d.DataCoding != w.dc || d.ESMClass&0x3c != 0 ||
				d.Source.Addr != strings.TrimPrefix(person, "+") && d.Source.Addr != person {
				t.Fatalf("deliver_sm %d: text %q dc %d esm %#x from %q; want %q dc %d from %s", i, text, d.DataCoding, d.ESMClass, d.Source.Addr, w.text, w.dc, person)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("inbound %d (%q) never reached the SMPP client", i, w.text)
		}
	}

	// The person opts out: a submit to them over SMPP is refused with the
	// documented status, as the API refuses it with recipient_opted_out.
	tp.inject(t, smscsim.MO{Text: "STOP"})
	tx, err := smpp.Dial(t.Context(), tp.SMPPAddr, pdu.Bind{Role: pdu.Transmitter, SystemID: "inbox", Password: u.Password}, smpp.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	r, err := tx.Send(t.Context(), &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{TON: 1, NPI: 1, Addr: strings.TrimPrefix(ourNumber, "+")},
		Dest: pdu.Address{TON: 1, NPI: 1, Addr: strings.TrimPrefix(person, "+")}, Message: []byte("Your order shipped")}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status() != pdu.Status(0x66) {
		t.Fatalf("submit_sm to a person who opted out: status %v, want ESME_RX_R_APPN (0x66)", r.Status())
	}
	if code, body := tp.do(t, "POST", "/v1/messages", `{"to":"`+person+`","from":"`+ourNumber+`","body":"x"}`, nil); code != 422 || errorCode(body) != "recipient_opted_out" {
		t.Fatalf("API send after STOP: %d %s", code, body)
	}
}

func beUint16s(b []byte) []uint16 {
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return out
}
