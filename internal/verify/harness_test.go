package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// clock is an injected clock: tests move it, nothing sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time // mu guards t
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore counts the checks whose code was compared with a real
// verification's hash.
type countingStore struct {
	*sqlite.Store
	evaluated atomic.Int64
}

func (c *countingStore) CheckVerification(ctx context.Context, cv store.CheckVerification) (store.CheckResult, error) {
	r, err := c.Store.CheckVerification(ctx, cv)
	if r.Evaluated {
		c.evaluated.Add(1)
	}
	return r, err
}

// env is a verify service over a real SQLite store and intake; sent
// keeps the texts handed to the dispatcher (the only place codes exist).
type env struct {
	svc   *Service
	st    *countingStore
	in    *intake.Service
	clock *clock
	dir   string
	acc   string

	mu   sync.Mutex
	sent map[string]string // mu guards sent: verification id → last text sent
}

func newEnv(t testing.TB, limits herald.VerifyLimits) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: &countingStore{Store: st}, clock: &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}, dir: dir, sent: map[string]string{}}
	acc, err := st.EnsureAccount(context.Background(), "verify-test")
	if err != nil {
		t.Fatal(err)
	}
	e.acc = acc.ID
	e.in = intake.New(intake.Options{Store: st, DefaultFrom: "Herald", Now: e.clock.Now,
		Route: func(*herald.Message) (intake.Route, error) { return intake.Route{Carrier: "sim"}, nil },
		Accepted: func(ms []*herald.Message) {
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, m := range ms {
				e.sent[m.Reference] = m.Body
			}
		}})
	key, err := LoadKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = New(Options{Store: e.st, Intake: e.in, Key: key, Limits: limits, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// codeOf returns the code last sent for a verification, read from the
// text handed to the dispatcher.
func (e *env) codeOf(t testing.TB, id string) string {
	t.Helper()
	e.mu.Lock()
	text := e.sent[id]
	e.mu.Unlock()
	f := strings.Fields(text)
	if len(f) == 0 {
		t.Fatalf("no code sent for %s", id)
	}
	return f[0] // every default template starts with the code
}

func storeFilter(ref string) store.MessageFilter { return store.MessageFilter{Reference: ref} }

func osStat(dir string) (uint32, error) {
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		return 0, err
	}
	return uint32(fi.Mode().Perm()), nil
}
