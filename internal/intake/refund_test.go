package intake_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/fraud"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// failingStore refuses to commit while fail is set.
type failingStore struct {
	*sqlite.Store
	fail bool
}

func (f *failingStore) CreateMessages(ctx context.Context, items []*store.NewMessage) error {
	if f.fail {
		return errors.New("disk on fire")
	}
	return f.Store.CreateMessages(ctx, items)
}

// TestGuardRefund: what the fraud guard counts for a message that is
// then not stored (an idempotent replay, a batch the store could not
// commit) is given back, so retries do not use up an account's daily cap.
func TestGuardRefund(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	acc, err := st.EnsureAccount(ctx, "cap")
	if err != nil {
		t.Fatal(err)
	}
	p := fraud.DefaultPolicy("GB")
	p.DailyCap = 3
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	guard := fraud.New(p, st, clock, nil)
	fs := &failingStore{Store: st}
	in := intake.New(intake.Options{
		DefaultRegion: "GB", DefaultFrom: "Herald",
		Route: func(*herald.Message) (intake.Route, error) { return intake.Route{Carrier: "sim"}, nil },
		Store: fs, Guard: guard.Check, Refund: guard.Refund, Now: clock,
	})
	submit := func(n int, key string) ([]intake.Result, error) {
		t.Helper()
		req := intake.Request{To: "+4479111234" + strconv.Itoa(10+n), Body: "hello " + strconv.Itoa(n)}
		return in.Submit(ctx, acc.ID, []intake.Request{req}, intake.Idempotency{Key: key, Hash: []byte{byte(n)}}, false)
	}
	accepted := func(n int, key string) {
		t.Helper()
		res, err := submit(n, key)
		if err != nil || res[0].Err != nil {
			t.Fatalf("message %d: %v %v", n, err, res[0].Err)
		}
	}

	accepted(0, "k0")
	for range 5 {
		res, err := submit(0, "k0") // the client retries: replays
		if err != nil || res[0].Err != nil || !res[0].Replayed {
			t.Fatalf("replay: %v %+v", err, res[0])
		}
	}
	fs.fail = true
	if _, err := submit(1, ""); err == nil {
		t.Fatal("the failing store committed")
	}
	fs.fail = false
	accepted(1, "")
	accepted(2, "")
	res, err := submit(3, "")
	var he *herald.Error
	if err != nil || !errors.As(res[0].Err, &he) || he.Code != fraud.CodeDailyCapReached {
		t.Fatalf("fourth message of a cap of 3: %v %v, want %s", err, res[0].Err, fraud.CodeDailyCapReached)
	}
	if s := guard.Stats(); s.Refunded != 6 {
		t.Errorf("refunded %d, want 6 (5 replays, 1 failed commit)", s.Refunded)
	}
}
