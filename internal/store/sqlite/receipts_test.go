package sqlite

import (
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// TestReceiptKeys covers the writer's knowledge of correlation keys
// (receipts.go): an orphan receipt kept before a restart is still found
// by its submit response after it; a receipt found through the sent-key
// cache is applied and its keys forgotten; a key a carrier reused for a
// second message still reaches the first through the database.
func TestReceiptKeys(t *testing.T) {
	dir := t.TempDir()
	s, acc := openWithAccount(t, dir, "keys")
	ctx := t.Context()
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	msgs := make([]*herald.Message, 5)
	items := make([]*store.NewMessage, len(msgs))
	for i := range msgs {
		msgs[i] = testMessage(acc.ID, i, "hello")
		items[i] = &store.NewMessage{Message: msgs[i]}
	}
	if err := s.CreateMessages(ctx, items); err != nil {
		t.Fatal(err)
	}
	ref := func(i int) store.PartRef { return store.PartRef{MessageID: msgs[i].ID, Seq: 1} }
	apply := func(s *Store, ts ...store.Transition) {
		t.Helper()
		if _, err := s.Apply(ctx, ts); err != nil {
			t.Fatal(err)
		}
	}
	sent := func(i int, key string) store.Transition {
		return store.Transition{PartRef: ref(i), To: herald.StatusSent, At: at, Carrier: "sim", CarrierMessageID: key,
			CorrelationKeys: []string{key}}
	}
	receipt := func(s *Store, key string, to herald.Status) {
		t.Helper()
		if err := s.ApplyReceipts(ctx, []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{key}, To: to,
			At: at.Add(time.Second)}}); err != nil {
			t.Fatal(err)
		}
	}
	statusOf := func(s *Store, i int) herald.Status {
		t.Helper()
		m, err := s.Message(ctx, acc.ID, msgs[i].ID, false)
		if err != nil {
			t.Fatal(err)
		}
		return m.Status
	}
	for i := range msgs {
		apply(s, store.Transition{PartRef: ref(i), To: herald.StatusSending, At: at})
	}

	// Message 0: its receipt overtakes its response, and Herald restarts
	// in between.
	receipt(s, "77", herald.StatusDelivered)
	if !s.receipts.mayHaveOrphan("sim", "77") {
		t.Fatal("kept orphan's key not known")
	}
	s = restart(t, s, dir)
	defer s.Close()
	if !s.receipts.mayHaveOrphan("sim", "77") {
		t.Fatal("kept orphan's key not loaded on open")
	}
	apply(s, sent(0, "77"))
	if got := statusOf(s, 0); got != herald.StatusDelivered {
		t.Fatalf("orphan kept over a restart: message %s, want delivered", got)
	}
	if s.receipts.mayHaveOrphan("sim", "77") {
		t.Error("applied orphan's key still known")
	}

	// Message 1: the ordinary way, through the cache.
	apply(s, sent(1, "88"))
	if s.receipts.sentPart("sim", "88") == nil {
		t.Fatal("sent key not cached after its commit")
	}
	receipt(s, "88", herald.StatusDelivered)
	if got := statusOf(s, 1); got != herald.StatusDelivered {
		t.Fatalf("message 1 %s, want delivered", got)
	}
	if s.receipts.sentPart("sim", "88") != nil {
		t.Error("key of an applied receipt still cached")
	}
	receipt(s, "88", herald.StatusUndelivered) // a duplicate: through the database, ignored
	if got := statusOf(s, 1); got != herald.StatusDelivered {
		t.Fatalf("duplicate receipt changed message 1 to %s", got)
	}

	// Messages 2 and 3 share a key (the carrier reused an id): the cache
	// holds the later one; the earlier is still reached.
	apply(s, sent(2, "55"))
	apply(s, sent(3, "55"))
	receipt(s, "55", herald.StatusDelivered)
	receipt(s, "55", herald.StatusUndelivered)
	if a, b := statusOf(s, 2), statusOf(s, 3); a != herald.StatusUndelivered || b != herald.StatusDelivered {
		t.Fatalf("shared key: messages %s and %s, want undelivered and delivered", a, b)
	}

	// Message 4: a receipt for a key never sent is kept as an orphan.
	receipt(s, "66", herald.StatusDelivered)
	if !s.receipts.mayHaveOrphan("sim", "66") || statusOf(s, 4) != herald.StatusSending {
		t.Fatal("unknown key's receipt not kept")
	}
}

// TestClientReceiptsAfterRestart: the writer skips SMPP client receipts
// only while no message came from an SMPP client; that knowledge is read
// back on open, so a message submitted over SMPP before a restart still
// gets its receipt after it, and HTTP messages never queue one.
func TestClientReceiptsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s, acc := openWithAccount(t, dir, "smpp")
	ctx := t.Context()
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	web, viaSMPP := testMessage(acc.ID, 0, "over http"), testMessage(acc.ID, 1, "over smpp")
	if s.smppSourced {
		t.Fatal("an empty database has SMPP-sourced messages")
	}
	if err := s.CreateMessages(ctx, []*store.NewMessage{{Message: web},
		{Message: viaSMPP, SMPP: &store.SMPPSource{UserID: "su_1", RegisteredDelivery: 1}}}); err != nil {
		t.Fatal(err)
	}
	s = restart(t, s, dir)
	defer s.Close()
	for i, m := range []*herald.Message{web, viaSMPP} {
		ref := store.PartRef{MessageID: m.ID, Seq: 1}
		key := "c" + string(rune('0'+i))
		if _, err := s.Apply(ctx, []store.Transition{{PartRef: ref, To: herald.StatusSending, At: at},
			{PartRef: ref, To: herald.StatusSent, At: at, Carrier: "sim", CorrelationKeys: []string{key}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.ApplyReceipts(ctx, []store.Receipt{{Carrier: "sim", CorrelationKeys: []string{key},
			To: herald.StatusDelivered, At: at}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.ClientMessages(ctx, acc.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].MessageID != viaSMPP.ID {
		t.Fatalf("client outbox after a restart: %+v, want one receipt for the SMPP message", out)
	}
}

// openWithAccount opens a store in dir with an account named name.
func openWithAccount(t *testing.T, dir, name string) (*Store, *herald.Account) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := s.EnsureAccount(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s, acc
}

// restart closes s and opens its directory again.
func restart(t *testing.T, s *Store, dir string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
