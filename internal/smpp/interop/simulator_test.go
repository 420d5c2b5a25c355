package interop_test

import (
	"net"
	"strings"
	"testing"

	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smscsim"
)

// TestSimulatorWithNetSMPPESME points Net::SMPP at the SMSC simulator
// behind `herald smsc-sim` (same engine, same defaults): an independent
// ESME binds, submits, gets its delivery receipt with the matching id,
// receives an injected MO and unbinds.
func TestSimulatorWithNetSMPPESME(t *testing.T) {
	requireNetSMPP(t)
	t.Parallel()
	sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0", ReceiptIDFormat: smscsim.IDDecimal})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	host, port, _ := net.SplitHostPort(sim.Addr())
	perl := runScript(t, "esme.pl", "--deliveries=2", "--text=hello simulator", host, port, "perl", "any")

	perl.expect("bound")
	perl.check(perl.expect("enquire_link_resp"), "status", "0")
	resp := perl.expect("submit_resp")
	perl.check(resp, "status", "0")
	hexID := perl.field(resp, "id")

	rc := perl.expect("deliver")
	perl.check(rc, "esm_class", "4")
	receipt, err := dlr.Parse([]byte(perl.field(rc, "text")))
	if err != nil {
		t.Fatalf("receipt text %q: %v", perl.field(rc, "text"), err)
	}
	// The simulator answers with a hex id and writes the receipt id in
	// decimal, as some real SMSCs do; Herald's correlation keys match them.
	submitKeys, _ := dlr.Keys(hexID, dlr.IDHex)
	receiptKeys, _ := dlr.Keys(receipt.ID, dlr.IDDecimal)
	if receipt.State != dlr.StateDelivered || len(submitKeys) == 0 || strings.Join(submitKeys, ",") != strings.Join(receiptKeys, ",") {
		t.Fatalf("receipt %+v (keys %v) does not match submit id %s (keys %v)", receipt, receiptKeys, hexID, submitKeys)
	}

	// Inject an MO; the ESME is bound (it has had its receipt).
	if _, err := sim.Inject(t.Context(), smscsim.MO{From: "447911123456", To: "12345", Text: "STOP"}); err != nil {
		t.Fatalf("inject MO: %v", err)
	}
	mo := perl.expect("deliver")
	perl.check(mo, "esm_class", "0")
	perl.check(mo, "text", "STOP")
	perl.expect("unbound")
	perl.wait()
	if st := sim.Stats(); st.Submits != 1 {
		t.Errorf("simulator counted %d submits, want 1", st.Submits)
	}
}
