package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", path, got, want)
	}
}

func goldenMessage() *herald.Message {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return &herald.Message{
		ID: "msg_01j0000000000000000000000a", AccountID: "acc_a", To: "+14155550100", From: "Herald",
		Body: "Ваш код 123456 <b>&</b>", Type: herald.TypeOTP, Status: herald.StatusSent, Encoding: "ucs2",
		PartCount: 2, SendAt: at.Add(time.Minute), ValidUntil: at.Add(time.Hour),
		CallbackURL: "https://example.com/cb", Reference: "order-7", Metadata: json.RawMessage(`{"user":42}`),
		Carrier: "sim", Resends: 1, CreatedAt: at, UpdatedAt: at.Add(2 * time.Minute),
		Parts: []herald.Part{
			{Seq: 1, Status: herald.StatusDelivered, CarrierMessageID: "c1", Attempts: 1, ReceiptStat: "DELIVRD",
				ReceiptErr: "000", SubmittedAt: at.Add(time.Minute), DoneAt: at.Add(90 * time.Second)},
			{Seq: 2, Status: herald.StatusSent, CarrierMessageID: "c2", Attempts: 2, SubmitStatus: 0x58,
				SubmittedAt: at.Add(time.Minute)},
		},
	}
}

func TestGoldenMessageView(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.st.add(goldenMessage())
	resp, b := h.send("GET", "/v1/messages/msg_01j0000000000000000000000a", "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	checkGolden(t, "message.golden", b)
}

func TestGoldenError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, b := h.send("POST", "/v1/messages", `{"to":14155550100}`)
	if resp.StatusCode != 400 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	checkGolden(t, "error.golden", b)
}

func TestGoldenBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, b := h.send("POST", "/v1/messages/batch", `{"messages":[{"to":"12","from":"x","body":"y"},{"to":"+14155550100","from":"x","body":"y","x":1}]}`)
	if resp.StatusCode != 202 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	checkGolden(t, "batch_rejected.golden", b)
}
