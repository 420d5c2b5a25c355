package webhook

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestRequestGolden pins the bytes a receiver gets for one delivery:
// method, path, headers (Host aside, which holds the test server's port)
// and body, with a fixed clock and secret.
func TestRequestGolden(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	rc := newReceiver(t, testSecret, clock, nil)
	at := time.Date(2026, 3, 1, 11, 59, 58, 0, time.UTC)
	m := &herald.Message{
		ID: "msg_01JNQ2ZKX8", AccountID: "acc_1", To: "+447700900123", From: "Herald",
		Body: "Your code is 123456", Type: herald.TypeOTP, Status: herald.StatusDelivered,
		Encoding: "gsm7", PartCount: 1, Reference: "order-42", Carrier: "sim",
		CreatedAt: at.Add(-2 * time.Second), UpdatedAt: at,
	}
	ev := &herald.Event{
		ID: "evt_01JNQ2ZM4T", AccountID: "acc_1", MessageID: m.ID, Type: herald.EventType(herald.StatusDelivered),
		Status: herald.StatusDelivered, At: at, Carrier: "sim", CarrierCode: "DELIVRD/000",
	}
	d := herald.Delivery{
		ID: "dlv_1", AccountID: "acc_1", EventID: ev.ID, EndpointID: "ep_1",
		URL: rc.URL + "/hooks/herald", Secret: testSecret,
		Payload: herald.Payload(ev, m), NextAt: clock.Now(), CreatedAt: at,
	}
	st := newFakeStore()
	st.add(d)
	startWorker(t, st, testOptions(clock))
	st.waitState(t, d.ID, "delivered")

	r := rc.requests()[0]
	if r.err != nil {
		t.Fatalf("Verify = %v", r.err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s\n", r.path)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range r.header {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		for _, v := range r.header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", r.body)

	path := filepath.Join("testdata", "request.golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("request differs from %s (run with -update to accept):\n%s", path, b.Bytes())
	}
}
