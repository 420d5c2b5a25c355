package sqlite

import (
	"strconv"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// TestFreshDeliveries covers deliveries handed to ClaimDeliveries from
// memory (fresh.go): claimed once without a database claim, never again
// while their reservation lasts; not handed out once the reservation no
// longer covers a lease, and then claimed from the database when it ends;
// after a restart, claimed from the database when the reservation ends.
func TestFreshDeliveries(t *testing.T) {
	dir := t.TempDir()
	s, acc := openWithAccount(t, dir, "fresh")
	ctx := t.Context()
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	const lease = time.Minute
	n := 0
	// deliver makes a message delivered at at: one callback delivery.
	deliver := func(s *Store, at time.Time) string {
		t.Helper()
		m := testMessage(acc.ID, n, "hello")
		m.CallbackURL = "http://127.0.0.1:9/cb"
		key := "k" + strconv.Itoa(n)
		n++
		if err := s.CreateMessages(ctx, []*store.NewMessage{{Message: m}}); err != nil {
			t.Fatal(err)
		}
		ref := store.PartRef{MessageID: m.ID, Seq: 1}
		if _, err := s.Apply(ctx, []store.Transition{{PartRef: ref, To: herald.StatusSending, At: at},
			{PartRef: ref, To: herald.StatusSent, At: at, Carrier: "sim", CorrelationKeys: []string{key}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.ApplyReceipts(ctx, []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{key},
			To: herald.StatusDelivered, At: at}}); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	// claim claims at now; every delivery claimed succeeds.
	claim := func(s *Store, now time.Time) []*herald.Delivery {
		t.Helper()
		ds, err := s.ClaimDeliveries(ctx, now, lease, 10)
		if err != nil {
			t.Fatal(err)
		}
		as := make([]store.Attempt, len(ds))
		for i, d := range ds {
			as[i] = store.Attempt{DeliveryID: d.ID, At: now, HTTPStatus: 204, Done: true}
		}
		if err := s.RecordAttempts(ctx, as); err != nil {
			t.Fatal(err)
		}
		return ds
	}
	// Claimed from memory (written reserved for two leases: the restart
	// below shows it). A message has a delivery for each of its webhook
	// events (sent, delivered).
	deliver(s, base)
	ds, err := s.ClaimDeliveries(ctx, base.Add(time.Second), lease, 10) // not attempted yet
	if err != nil {
		t.Fatal(err)
	}
	per := len(ds)
	if per == 0 {
		t.Fatal("no fresh delivery claimed")
	}
	if again := claim(s, base.Add(2*time.Second)); len(again) != 0 {
		t.Fatalf("claimed again while reserved: %d", len(again))
	}
	if again := claim(s, base.Add(2*lease)); len(again) != per {
		t.Fatalf("unattempted, claimed %d again at the reservation's end, want %d", len(again), per)
	}

	// Waited too long in memory: not handed out, claimed from the
	// database once its reservation ends, and only once.
	late := base.Add(time.Hour)
	deliver(s, late)
	if ds := claim(s, late.Add(lease+time.Second)); len(ds) != 0 {
		t.Fatalf("stale fresh delivery handed out (%d)", len(ds))
	}
	ds = claim(s, late.Add(2*lease))
	if len(ds) != per {
		t.Fatalf("claimed %d at the reservation's end, want %d", len(ds), per)
	}
	if again := claim(s, late.Add(2*lease+time.Second)); len(again) != 0 {
		t.Fatalf("claimed twice: %d", len(again))
	}

	// A restart loses memory, not deliveries.
	later := base.Add(2 * time.Hour)
	deliver(s, later)
	s = restart(t, s, dir)
	defer s.Close()
	if ds := claim(s, later.Add(time.Second)); len(ds) != 0 {
		t.Fatalf("claimed a delivery reserved by the previous run (%d)", len(ds))
	}
	if ds := claim(s, later.Add(2*lease)); len(ds) != per {
		t.Fatalf("after a restart, claimed %d at the reservation's end, want %d", len(ds), per)
	}

	// An endpoint deleted: its waiting deliveries are not handed out.
	ep := &herald.WebhookEndpoint{ID: "we_1", AccountID: acc.ID, URL: "http://127.0.0.1:9/ep", Secret: "s"}
	if err := s.CreateEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	last := base.Add(3 * time.Hour)
	deliver(s, last) // for the callback URL and for the endpoint
	if err := s.DeleteEndpoint(ctx, acc.ID, ep.ID); err != nil {
		t.Fatal(err)
	}
	ds = claim(s, last.Add(time.Second))
	if len(ds) != per {
		t.Fatalf("after the endpoint's deletion, claimed %d, want the %d callback deliveries alone", len(ds), per)
	}
	for _, d := range ds {
		if d.EndpointID != "" {
			t.Errorf("claimed a delivery of the deleted endpoint")
		}
	}
}
