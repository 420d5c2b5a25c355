package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/fraud"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/verify"
)

// fakeVerifier answers with fixed errors and records the ids it was asked
// to check.
type fakeVerifier struct {
	startErr error
	checked  []string
}

func (f *fakeVerifier) Start(_ context.Context, acc string, r verify.StartRequest) (*herald.Verification, error) {
	if f.startErr != nil {
		return nil, f.startErr
	}
	return &herald.Verification{ID: "ver_1", AccountID: acc, To: r.To, Status: herald.VerificationPending}, nil
}

func (f *fakeVerifier) Check(_ context.Context, _, id, code string) (verify.CheckAnswer, error) {
	f.checked = append(f.checked, id)
	return verify.CheckAnswer{ID: id, Object: "verification_check", Status: herald.VerificationPending, ChecksLeft: 4}, nil
}

func (f *fakeVerifier) Get(context.Context, string, string) (*herald.Verification, error) {
	return nil, &herald.Error{Kind: herald.KindNotFound, Code: codeNotFound, Message: "verification not found"}
}

func (f *fakeVerifier) Cancel(ctx context.Context, acc, id string) (*herald.Verification, error) {
	return f.Get(ctx, acc, id)
}

func (f *fakeVerifier) ViewOf(v *herald.Verification) verify.View {
	return verify.View{ID: v.ID, Object: "verification", To: v.To, Status: v.Status}
}

func (f *fakeVerifier) Unlock(_ context.Context, _, to string) (string, int, error) {
	return to, 3, nil
}

func TestVerificationRoutes(t *testing.T) {
	t.Parallel()
	fv := &fakeVerifier{}
	h := newHarness(t, func(o *Options) { o.Verify = fv })
	res, body := h.send("POST", "/v1/verifications", `{"to":"+447911123456"}`)
	if res.StatusCode != http.StatusCreated || res.Header.Get("Location") != "/v1/verifications/ver_1" {
		t.Fatalf("start: %d %s", res.StatusCode, body)
	}
	// A rate limit answers 429 with Retry-After in whole seconds, rounded up.
	fv.startErr = herald.RateLimited(herald.CodeVerifyResendCooldown, 29200*time.Millisecond, "wait")
	res, body = h.send("POST", "/v1/verifications", `{"to":"+447911123456"}`)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "30" || !strings.Contains(string(body), codeVerifyResendCooldown) {
		t.Fatalf("cooldown: %d %q %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	fv.startErr = herald.Errorf(herald.KindForbidden, codeDestinationBlocked, "blocked")
	if res, body = h.send("POST", "/v1/verifications", `{"to":"+994501234567"}`); res.StatusCode != 403 {
		t.Fatalf("blocked: %d %s", res.StatusCode, body)
	}
	// Unknown fields are refused as everywhere.
	if res, _ = h.send("POST", "/v1/verifications", `{"to":"+447911123456","code":"1"}`); res.StatusCode != 400 {
		t.Fatalf("unknown field: %d", res.StatusCode)
	}
	// A check of an id that cannot even be an id is still answered like a wrong code.
	long := strings.Repeat("x", 200)
	res, body = h.send("POST", "/v1/verifications/"+long+"/check", `{"code":"123456"}`)
	if res.StatusCode != 200 || !strings.Contains(string(body), `"status":"pending"`) || fv.checked[len(fv.checked)-1] != "ver_invalid" {
		t.Fatalf("check: %d %s", res.StatusCode, body)
	}
	if res, _ = h.send("GET", "/v1/verifications/ver_x", ""); res.StatusCode != 404 {
		t.Fatalf("get: %d", res.StatusCode)
	}
	if res, _ = h.send("POST", "/v1/verifications/ver_x/cancel", ""); res.StatusCode != 404 {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	res, body = h.send("POST", "/v1/verifications/unlock", `{"to":"+447911123456"}`)
	if res.StatusCode != 200 || !strings.Contains(string(body), `"failures_cleared":3`) {
		t.Fatalf("unlock: %d %s", res.StatusCode, body)
	}
}

func TestVerificationRoutesWithoutService(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if res, _ := h.send("POST", "/v1/verifications", `{"to":"+447911123456"}`); res.StatusCode != 404 {
		t.Fatalf("start without a service: %d", res.StatusCode)
	}
	res, body := h.send("GET", "/v1/fraud/blocks", "")
	if res.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"data":[]}` {
		t.Fatalf("blocks without a guard: %d %s", res.StatusCode, body)
	}
}

// TestVerifyAndFraudCodesInTable: the codes the Verify service and the
// fraud guard answer with through constants are in the table, with their
// kinds (literal codes are found by allCodes).
func TestVerifyAndFraudCodesInTable(t *testing.T) {
	t.Parallel()
	want := map[string]herald.Kind{
		herald.CodeVerifyResendCooldown: herald.KindRateLimited, herald.CodeVerifyTooManySends: herald.KindRateLimited,
		herald.CodeVerifyLocked: herald.KindRateLimited, herald.CodeVerifyMaxAttempts: herald.KindRateLimited,
		herald.CodeVerifyNotPending: herald.KindConflict, fraud.CodeDestinationBlocked: herald.KindForbidden,
		fraud.CodeRateLimited: herald.KindRateLimited, fraud.CodeDailyCapReached: herald.KindRateLimited,
	}
	for code, kind := range want {
		found := false
		for _, c := range errorCodes {
			if c.code == code {
				found = true
				if c.kind != kind {
					t.Errorf("%s: kind %s in the table, %s where it is made", code, c.kind, kind)
				}
			}
		}
		if !found {
			t.Errorf("%s is not in errorCodes", code)
		}
	}
}
