package verify

import (
	"testing"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
)

// TestRecoveringFailsUnsentCodes: after a restart, an unsent code message
// (stored masked) is failed instead of being handed to the dispatcher;
// other messages are recovered as usual.
func TestRecoveringFailsUnsentCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, herald.VerifyLimits{})
	ctx := t.Context()
	v, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123456"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.in.Submit(ctx, e.acc, []intake.Request{{To: "+447911123457", Body: "hello", Type: herald.TypeOTP, Reference: "order-1"}}, intake.Idempotency{}, false)
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res[0].Err)
	}
	ms, err := Recovering{DispatchStore: e.st}.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Reference != "order-1" {
		t.Fatalf("recovered %d messages: %+v", len(ms), ms)
	}
	list, _, err := e.st.ListMessages(ctx, e.acc, storeFilter(v.ID))
	if err != nil || len(list) != 1 || list[0].Status != herald.StatusFailed || list[0].ErrorCode != "verification_code_lost" {
		t.Fatalf("code message after recovery: %+v %v", list, err)
	}
	if g, _ := e.svc.Get(ctx, e.acc, v.ID); g.Status != herald.VerificationPending {
		t.Fatalf("verification %s", g.Status)
	}
}
