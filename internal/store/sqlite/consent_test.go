package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// fromDB answers Senders, SenderByAddress and Policy with queries, as the
// store did before it kept them in memory.
func sendersFromDB(t *testing.T, s *Store, accountID string) []*herald.Sender {
	t.Helper()
	rows, err := s.r.Query(`SELECT `+senderColumns+` FROM senders WHERE account_id = ? ORDER BY created_at, id`, accountID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*herald.Sender
	for rows.Next() {
		snd, err := scanSender(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, snd)
	}
	return out
}

func senderFromDB(t *testing.T, s *Store, address string) *herald.Sender {
	t.Helper()
	snd, err := scanSender(s.r.QueryRow(`SELECT `+senderColumns+` FROM senders WHERE address = ?`, address))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return snd
}

func policyFromDB(t *testing.T, s *Store, accountID string) *herald.Policy {
	t.Helper()
	var allowAny int
	var scope, exempt string
	var updated int64
	err := s.r.QueryRow(`SELECT allow_any_sender, opt_out_scope, exempt, updated_at FROM account_policies WHERE account_id = ?`,
		accountID).Scan(&allowAny, &scope, &exempt, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return &herald.Policy{AccountID: accountID, OptOutScope: herald.ScopeSender}
	}
	if err != nil {
		t.Fatal(err)
	}
	return policyFromRow(accountID, allowAny, scope, exempt, updated)
}

// checkConsentCache compares every answer of the cache with the database.
func checkConsentCache(t *testing.T, s *Store, accounts, addresses []string) {
	t.Helper()
	ctx := t.Context()
	for _, a := range accounts {
		got, err := s.Senders(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if want := sendersFromDB(t, s, a); !reflect.DeepEqual(got, want) {
			t.Fatalf("Senders(%s) = %s, database %s", a, fmtSenders(got), fmtSenders(want))
		}
		p, err := s.Policy(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if want := policyFromDB(t, s, a); !reflect.DeepEqual(p, want) {
			t.Fatalf("Policy(%s) = %+v, database %+v", a, p, want)
		}
	}
	for _, addr := range addresses {
		got, err := s.SenderByAddress(ctx, addr)
		want := senderFromDB(t, s, addr)
		switch {
		case want == nil && herald.ErrorKind(err) != herald.KindNotFound:
			t.Fatalf("SenderByAddress(%s) = %+v, %v; database: none", addr, got, err)
		case want != nil && (err != nil || !reflect.DeepEqual(got, want)):
			t.Fatalf("SenderByAddress(%s) = %+v, %v; database %+v", addr, got, err, want)
		}
	}
}

func fmtSenders(ss []*herald.Sender) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "%+v ", *s)
	}
	return "[" + b.String() + "]"
}

// consentWorkload makes a random mix of sender registrations (some of
// them refused: the address is taken), deletions (some of unknown ids)
// and policy changes.
func consentWorkload(ctx context.Context, s *Store, rng *rand.Rand, accounts, addresses []string, n int) error {
	var ids []string
	for i := range n {
		acc := accounts[rng.IntN(len(accounts))]
		switch rng.IntN(4) {
		case 0, 1:
			snd := &herald.Sender{ID: fmt.Sprintf("snd_%d_%d", rng.Int64(), i), AccountID: acc,
				Address: addresses[rng.IntN(len(addresses))], Kind: herald.SenderAlphanumeric,
				// Equal times, so that the order by id is exercised too.
				CreatedAt: time.Unix(1_700_000_000+int64(rng.IntN(3)), 0)}
			if err := s.CreateSender(ctx, snd); err != nil && herald.ErrorKind(err) != herald.KindConflict {
				return err
			}
			ids = append(ids, snd.ID)
		case 2:
			id := "snd_unknown"
			if len(ids) > 0 {
				id = ids[rng.IntN(len(ids))]
			}
			if err := s.DeleteSender(ctx, acc, id); err != nil && herald.ErrorKind(err) != herald.KindNotFound {
				return err
			}
		case 3:
			p := &herald.Policy{AccountID: acc, AllowAnySender: rng.IntN(2) == 0,
				UpdatedAt: time.Unix(1_700_000_000, int64(rng.IntN(1e9)))}
			if rng.IntN(2) == 0 {
				p.OptOutScope, p.Exempt = herald.ScopeAccount, []herald.MessageType{herald.TypeOTP, ""}
			}
			if err := s.SetPolicy(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestConsentCacheMatchesDatabase: after every kind of change, and after
// reopening, the senders and policies served from memory are those in
// the database.
func TestConsentCacheMatchesDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	accounts := []string{"acc_a", "acc_b", "acc_c"}
	addresses := []string{"Shop", "Bank", "+447700900001", "+447700900002", "60001", "Other"}
	rng := rand.New(rand.NewPCG(3, 4))
	checkConsentCache(t, s, accounts, addresses) // empty
	for range 40 {
		if err := consentWorkload(t.Context(), s, rng, accounts, addresses, 5); err != nil {
			t.Fatal(err)
		}
		checkConsentCache(t, s, accounts, addresses)
	}
	// What callers do with the answers does not reach the cache.
	if p, _ := s.Policy(t.Context(), "acc_a"); p != nil {
		p.AllowAnySender, p.Exempt = !p.AllowAnySender, append(p.Exempt, herald.TypeMarketing)
	}
	if ss, _ := s.Senders(t.Context(), "acc_b"); len(ss) > 0 {
		ss[0].Address = "changed"
	}
	checkConsentCache(t, s, accounts, addresses)
	s.Close()

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkConsentCache(t, s, accounts, addresses)
}

// TestConsentCacheConcurrent: readers and writers at once (run with
// -race); the cache ends equal to the database.
func TestConsentCacheConcurrent(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	accounts := []string{"acc_a", "acc_b"}
	addresses := []string{"Shop", "Bank", "+447700900001", "60001"}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			if err := consentWorkload(t.Context(), s, rng, accounts, addresses, 30); err != nil {
				t.Error(err)
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			for i := range 300 {
				ctx := t.Context()
				a := accounts[i%len(accounts)]
				if _, err := s.Policy(ctx, a); err != nil {
					t.Error(err)
				}
				if _, err := s.Senders(ctx, a); err != nil {
					t.Error(err)
				}
				if _, err := s.SenderByAddress(ctx, addresses[i%len(addresses)]); err != nil && herald.ErrorKind(err) != herald.KindNotFound {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	checkConsentCache(t, s, accounts, addresses)
}
