package verify

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// TestTimingDoesNotReveal compares the time of three kinds of check over
// thousands of checks: a wrong code, a code with the right prefix (all
// but the last digit), and a check of an unknown verification. Each does
// the same work (one HMAC, one constant-time compare, one counted write
// in the group commit), so their distributions should be the same.
//
// Method, to be meaningful and not flaky: the three kinds are measured
// in interleaved rounds, in an order that rotates every round, so that
// drift of the machine's load hits all three alike; each kind's median
// is taken (robust to the outliers a shared machine produces); and the
// test fails only if two medians differ by more than half the smallest
// plus 200 µs (generous: the machine is shared, and -race slows it). A real leak (a database miss answered without a write,
// an early return on a wrong first digit) makes a difference of several
// times the median, far past that bound; scheduling noise does not reach
// it. The medians and the 10th/90th percentiles are logged.
func TestTimingDoesNotReveal(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of synced writes")
	}
	// Limits high enough that one verification takes every check.
	e := newEnv(t, herald.VerifyLimits{MaxChecks: 1 << 30, MaxFailures: 1 << 30, MaxSends: 5, SendWindow: 10 * time.Minute, Cooldown: 30 * time.Second})
	ctx := t.Context()
	v, err := e.svc.Start(ctx, e.acc, StartRequest{To: "+447911123456"})
	if err != nil {
		t.Fatal(err)
	}
	code := e.codeOf(t, v.ID)
	last := (code[5]-'0'+1)%10 + '0'
	prefix := code[:5] + string(rune(last))
	wrong := fmt.Sprintf("%06d", 0)
	if wrong[:1] == code[:1] {
		wrong = "999999"
		if code[0] == '9' {
			wrong = "111111"
		}
	}
	unknown := herald.NewID("ver", time.Now().UnixMilli())
	kinds := []struct {
		name, id, code string
	}{{"wrong code", v.ID, wrong}, {"right prefix", v.ID, prefix}, {"unknown verification", unknown, wrong}}
	const rounds = 1500
	times := make([][]time.Duration, len(kinds))
	for r := range rounds {
		for k := range kinds {
			k = (k + r) % len(kinds)
			start := time.Now()
			a, err := e.svc.Check(ctx, e.acc, kinds[k].id, kinds[k].code)
			times[k] = append(times[k], time.Since(start))
			if err != nil || a.Valid || a.Status != herald.VerificationPending {
				t.Fatalf("%s: %+v %v", kinds[k].name, a, err)
			}
		}
	}
	meds := make([]time.Duration, len(kinds))
	for k := range kinds {
		slices.Sort(times[k])
		meds[k] = times[k][rounds/2]
		t.Logf("%-20s median %8s  p10 %8s  p90 %8s  (%d checks)", kinds[k].name, meds[k], times[k][rounds/10], times[k][rounds*9/10], rounds)
	}
	lo, hi := slices.Min(meds), slices.Max(meds)
	if hi-lo > lo/2+200*time.Microsecond {
		t.Fatalf("medians differ by %s (from %s to %s): a usable difference", hi-lo, lo, hi)
	}
}
