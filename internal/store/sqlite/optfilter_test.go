package sqlite

import (
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// TestOptedOutFilter: the in-memory filter that spares OptedOut its
// query never hides an opt-out, including one made before a restart.
func TestOptedOutFilter(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	acc, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	if out, err := s.OptedOut(ctx, acc.ID, "+447911123456", "Herald"); err != nil || out {
		t.Fatalf("before any opt-out: %v %v", out, err)
	}
	if _, err := s.AddOptOuts(ctx, []*herald.OptOut{{AccountID: acc.ID, Number: "+447911123456", At: at, Source: "api"}}); err != nil {
		t.Fatal(err)
	}
	if out, err := s.OptedOut(ctx, acc.ID, "+447911123456", "Herald"); err != nil || !out {
		t.Fatalf("after the opt-out: %v %v", out, err)
	}
	if out, _ := s.OptedOut(ctx, acc.ID, "+447911123457", "Herald"); out {
		t.Fatal("another number is opted out")
	}
	s.Close()
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if out, err := s.OptedOut(ctx, acc.ID, "+447911123456", "Herald"); err != nil || !out {
		t.Fatalf("after a restart: %v %v", out, err)
	}
}
