package sqlite_test

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// BenchmarkCreateMessages measures the store's intake writes as the SMPP
// server makes them: 4 callers storing batches of 512 single-part
// messages to distinct numbers, each call one durable group commit
// (fsync). ns/op is per message; the writer is one goroutine, so this is
// the ceiling it puts on durable intake. cpu-µs/msg is the process's CPU
// time per message (almost all of it the writer's), which other jobs on
// the machine disturb less than the elapsed time.
//
//	go test ./internal/store/sqlite -run '^$' -bench CreateMessages -benchtime 100000x
func BenchmarkCreateMessages(b *testing.B) {
	s, err := sqlite.Open(b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	acc, err := s.EnsureAccount(b.Context(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	const callers, batch = 4, 512
	now := time.Now().UTC()
	newBatch := func(from, to int) []*store.NewMessage {
		items := make([]*store.NewMessage, 0, to-from)
		for j := from; j < to; j++ {
			m := &herald.Message{ID: herald.NewID("msg", now.UnixMilli()), AccountID: acc.ID,
				To: fmt.Sprintf("+447911%06d", j%1000000), From: "Herald", Body: "benchmark message",
				Type: herald.TypeTransactional, Status: herald.StatusQueued, Encoding: "gsm7", PartCount: 1,
				Carrier: "bench", CreatedAt: now, UpdatedAt: now}
			m.Parts = []herald.Part{{MessageID: m.ID, Seq: 1, Status: herald.StatusQueued, ShortMessage: []byte(m.Body)}}
			items = append(items, &store.NewMessage{Message: m})
		}
		return items
	}
	b.ResetTimer()
	cpu0 := processCPU()
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for from := c * batch; from < b.N; from += callers * batch {
				items := newBatch(from, min(from+batch, b.N))
				if err := s.CreateMessages(b.Context(), items); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
}

// processCPU returns the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
