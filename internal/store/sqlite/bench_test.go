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

// BenchmarkMessageLifecycle measures the store's whole share of a
// message's life with the most batching the platform could hope for:
// batches of 512 messages are created, marked sending, sent (with a
// correlation key), delivered by receipt (one webhook delivery each,
// for an endpoint of the account that wants final events, as `herald
// bench` registers), their deliveries claimed and their attempts
// recorded; each step is one durable group commit. cpu-µs/msg is the
// process's CPU time per message: a floor for the writer's cost per
// message in the platform, which batches less.
//
//	go test ./internal/store/sqlite -run '^$' -bench MessageLifecycle -benchtime 50000x
func BenchmarkMessageLifecycle(b *testing.B) {
	s, err := sqlite.Open(b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	acc, err := s.EnsureAccount(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ep := &herald.WebhookEndpoint{ID: "we_bench", AccountID: acc.ID, URL: "http://127.0.0.1:9/hook", Secret: "s",
		Events: []string{"message.delivered"}}
	if err := s.CreateEndpoint(ctx, ep); err != nil {
		b.Fatal(err)
	}
	const batch = 512
	now := time.Now().UTC()
	b.ResetTimer()
	cpu0 := processCPU()
	for from := 0; from < b.N; from += batch {
		n := min(batch, b.N-from)
		items := make([]*store.NewMessage, n)
		sending, sent := make([]store.Transition, n), make([]store.Transition, n)
		receipts := make([]store.Receipt, n)
		for i := range n {
			m := &herald.Message{ID: herald.NewID("msg", now.UnixMilli()), AccountID: acc.ID,
				To: fmt.Sprintf("+447911%06d", (from+i)%1000000), From: "Herald", Body: "benchmark message",
				Type: herald.TypeTransactional, Status: herald.StatusQueued, Encoding: "gsm7", PartCount: 1,
				Carrier: "bench", CreatedAt: now, UpdatedAt: now}
			m.Parts = []herald.Part{{MessageID: m.ID, Seq: 1, Status: herald.StatusQueued, ShortMessage: []byte(m.Body)}}
			items[i] = &store.NewMessage{Message: m}
			ref := store.PartRef{MessageID: m.ID, Seq: 1}
			key := fmt.Sprint(from + i)
			sending[i] = store.Transition{PartRef: ref, To: herald.StatusSending, At: now}
			sent[i] = store.Transition{PartRef: ref, To: herald.StatusSent, At: now, Carrier: "bench",
				CarrierMessageID: key, CorrelationKeys: []string{key}}
			receipts[i] = store.Receipt{Carrier: "bench", CorrelationKeys: []string{key}, To: herald.StatusDelivered, At: now}
		}
		if err := s.CreateMessages(ctx, items); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Apply(ctx, sending); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Apply(ctx, sent); err != nil {
			b.Fatal(err)
		}
		if err := s.ApplyReceipts(ctx, receipts); err != nil {
			b.Fatal(err)
		}
		var attempts []store.Attempt
		for {
			ds, err := s.ClaimDeliveries(ctx, now, time.Minute, 4*batch)
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) == 0 {
				break
			}
			for _, d := range ds {
				attempts = append(attempts, store.Attempt{DeliveryID: d.ID, At: now, HTTPStatus: 204, Done: true})
			}
		}
		if len(attempts) != n {
			b.Fatalf("%d deliveries claimed for %d messages", len(attempts), n)
		}
		if err := s.RecordAttempts(ctx, attempts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
}
