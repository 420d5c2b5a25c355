package sqlite

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/herald-sms/herald/internal/store"
)

// checkpointNow runs one checkpointer pass and returns its error.
func (s *Store) checkpointNow() error {
	reply := make(chan error, 1)
	s.ckptNow <- reply
	return <-reply
}

// TestWALBounded writes through a store whose WAL limit is 256 frames
// (1 MiB) from writers that never pause, with a reader reading all along,
// and runs checkpointer passes meanwhile (as the writer's kicks would):
// the WAL file stays within eight times the limit, although the writes
// add up to many times that, and a PASSIVE checkpoint beside writers that
// never pause would not let it restart. After Close the database has
// every message and passes an integrity check.
func TestWALBounded(t *testing.T) {
	dir := t.TempDir()
	const limit = 256
	s, err := Open(dir, Options{walLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	acc, err := s.EnsureAccount(ctx, "wal")
	if err != nil {
		t.Fatal(err)
	}
	walPath := filepath.Join(dir, "herald.db-wal")
	body := strings.Repeat("x", 1000)
	bound := int64(8 * limit * (4096 + 24))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	halt := func() { once.Do(func() { close(stop) }); wg.Wait() }
	defer halt()   // also when the test fails
	wg.Go(func() { // the reader
		for {
			select {
			case <-stop:
				return
			default:
			}
			var n int
			if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&n); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var mu sync.Mutex
	n := 0 // mu guards n
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ms := make([]*store.NewMessage, 8)
				for j := range ms {
					ms[j] = &store.NewMessage{Message: testMessage(acc.ID, i*8+j, body)}
					ms[j].Message.ID += "-" + strconv.Itoa(w) // IDs from testMessage are per millisecond
				}
				if err := s.CreateMessages(ctx, ms); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				n += len(ms)
				mu.Unlock()
			}
		})
	}
	largest := int64(0)
	for pass := 0; ; pass++ {
		if err := s.checkpointNow(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(walPath)
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, st.Size())
		if st.Size() > bound {
			t.Fatalf("pass %d: the WAL is %d bytes, more than %d", pass, st.Size(), bound)
		}
		mu.Lock()
		written := n
		mu.Unlock()
		if written >= 10_000 { // more than the bound in bodies alone
			break
		}
	}
	halt()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages; largest WAL %d bytes", n, largest)

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var count int
	var check string
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		t.Fatal(err)
	}
	if count != n || check != "ok" {
		t.Fatalf("after reopening: %d messages of %d, integrity %q", count, n, check)
	}
}
