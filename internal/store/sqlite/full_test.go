package sqlite

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// TestDiskFull fills the database (SQLite's max_page_count stands in for
// a full disk) and checks that a write that cannot commit fails as
// store_unavailable (the API's 503), stores nothing at all, and that the
// store works again once there is room.
func TestDiskFull(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	acc, err := s.EnsureAccount(ctx, "full")
	if err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := s.w.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`PRAGMA max_page_count = ` + strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	items := make([]*store.NewMessage, 200)
	for i := range items {
		items[i] = &store.NewMessage{Message: testMessage(acc.ID, i, strings.Repeat("x", 1000)),
			IdempotencyKey: "k" + strconv.Itoa(i), RequestHash: []byte{1}}
	}
	// One small write (it fails inside its own savepoint) and one group
	// of 200 (it fails when the group's rows are written): both are the
	// store being unavailable, not the request being wrong.
	// Single messages until the disk is full: the last one fails whole.
	var lastID string
	for i := 0; ; i++ {
		one := []*store.NewMessage{{Message: testMessage(acc.ID, 1000+i, strings.Repeat("y", 500))}}
		err := s.CreateMessages(ctx, one)
		if err == nil && one[0].Err == nil {
			if i > 1000 {
				t.Fatal("the database never filled up")
			}
			continue
		}
		if !isUnavailable(err) || one[0].Err != nil {
			t.Fatalf("one message on a full database: err = %v (item %v), want store_unavailable", err, one[0].Err)
		}
		lastID = one[0].Message.ID
		break
	}
	if _, err := s.Message(ctx, acc.ID, lastID, false); err == nil {
		t.Error("the message whose commit failed can be read")
	}
	err = s.CreateMessages(ctx, items)
	var he *herald.Error
	if !errors.As(err, &he) || he.Kind != herald.KindTransient || he.Code != "store_unavailable" {
		t.Fatalf("CreateMessages on a full database: err = %v, want store_unavailable", err)
	}
	if !strings.Contains(he.Err.Error(), "full") {
		t.Fatalf("cause = %v, want SQLite's database-full error", he.Err)
	}
	for _, table := range []string{"idempotency"} {
		var n int
		if err := s.r.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s has %d rows after a failed commit, want 0", table, n)
		}
	}
	for _, it := range items {
		if _, err := s.Message(ctx, acc.ID, it.Message.ID, false); err == nil {
			t.Fatal("a message of the failed commit can be read")
		}
		var parts, events int
		s.r.QueryRow(`SELECT COUNT(*) FROM parts WHERE message_id = ?`, it.Message.ID).Scan(&parts)
		s.r.QueryRow(`SELECT COUNT(*) FROM events WHERE message_id = ?`, it.Message.ID).Scan(&events)
		if parts+events != 0 {
			t.Fatalf("a message of the failed commit left %d parts and %d events", parts, events)
		}
	}

	// Room again: the same requests succeed, none replayed.
	if _, err := s.w.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		it.Err, it.Replayed, it.Existing = nil, false, nil
	}
	if err := s.CreateMessages(ctx, items); err != nil {
		t.Fatalf("CreateMessages after freeing room: %v", err)
	}
	for i, it := range items {
		if it.Err != nil || it.Replayed {
			t.Fatalf("item %d: err %v, replayed %v", i, it.Err, it.Replayed)
		}
	}
}

func testMessage(accountID string, i int, body string) *herald.Message {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	return &herald.Message{
		ID: herald.NewID("msg", now.UnixMilli()+int64(i)), AccountID: accountID, PartCount: 1, To: "+447911123456", From: "Herald", Body: body,
		Type: herald.TypeTransactional, Status: herald.StatusQueued, Encoding: "gsm7", CreatedAt: now, UpdatedAt: now,
		Parts: []herald.Part{{Seq: 1, Status: herald.StatusQueued, ShortMessage: []byte(body[:min(len(body), 140)])}},
	}
}

func isUnavailable(err error) bool {
	var he *herald.Error
	return errors.As(err, &he) && he.Kind == herald.KindTransient && he.Code == "store_unavailable"
}
