package verify

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	_ "modernc.org/sqlite"
)

// TestBruteForceBounded is an attacker trying 1,000,000 codes against one
// number, restarting verifications as fast as the limits allow (the
// injected clock jumps to each Retry-After, so simulated days pass in
// seconds). At most 100 checks may be evaluated in total: the
// consecutive-failure count of the number survives new verifications and
// new codes.
func TestBruteForceBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a million checks")
	}
	t.Parallel()
	e := newEnv(t, herald.VerifyLimits{})
	ctx := t.Context()
	const tries = 1_000_000
	const to = "+447911123456"
	var tried atomic.Int64
	var starts, refusedStarts int
	var id string
	next := func() string { return fmt.Sprintf("%06d", tried.Add(1)%1_000_000) }
	// Phase 1, sequential: start, check until refused, wait as told.
	for tried.Load() < tries {
		v, err := e.svc.Start(ctx, e.acc, StartRequest{To: to})
		var he *herald.Error
		switch {
		case err == nil:
			starts++
			id = v.ID
		case errors.As(err, &he) && he.Kind == herald.KindRateLimited:
			refusedStarts++
			if he.Code == herald.CodeVerifyLocked {
				goto locked
			}
			e.clock.Add(he.RetryAfter)
			continue
		default:
			t.Fatal(err)
		}
		for {
			_, err := e.svc.Check(ctx, e.acc, id, next())
			if err != nil {
				break
			}
		}
	}
locked:
	// Phase 2: the number is locked; the attacker goes on with the
	// remaining codes, from 16 goroutines, against the last verification
	// and against restarts, moving the clock a day at a time.
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for n := tried.Add(1); n <= tries; n = tried.Add(1) {
				if n%10_000 == 0 {
					e.clock.Add(24 * time.Hour)
					if _, err := e.svc.Start(ctx, e.acc, StartRequest{To: to}); err == nil {
						t.Error("a verification started for a locked number")
					}
				}
				e.svc.Check(ctx, e.acc, id, fmt.Sprintf("%06d", n%1_000_000))
			}
		})
	}
	wg.Wait()
	got := e.st.evaluated.Load()
	t.Logf("codes tried %d, verifications started %d, starts refused %d, checks evaluated %d, simulated time %s",
		tries, starts, refusedStarts, got, e.clock.Now().Sub(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)).Round(time.Minute))
	if got > 100 {
		t.Fatalf("%d checks evaluated, want at most 100", got)
	}
}

// TestDatabaseHoldsNoCodes sends codes (10 digits, so that a match cannot
// be chance), checks some, then reads every row of every table and the
// raw bytes of the database files: no code appears anywhere.
func TestDatabaseHoldsNoCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, herald.VerifyLimits{})
	ctx := t.Context()
	var codes []string
	for i := range 40 {
		v, err := e.svc.Start(ctx, e.acc, StartRequest{To: fmt.Sprintf("+4479111%05d", i), CodeLength: 10,
			WebOTPDomain: "example.com", Locale: []string{"en", "es", "fr", "de", "pt"}[i%5]})
		if err != nil {
			t.Fatal(err)
		}
		code := e.codeOf(t, v.ID)
		codes = append(codes, code)
		switch i % 4 {
		case 0:
			e.svc.Check(ctx, e.acc, v.ID, code)
		case 1:
			e.svc.Check(ctx, e.acc, v.ID, "0000000000")
		case 2:
			e.svc.Cancel(ctx, e.acc, v.ID)
		}
	}
	// Every row of every table, as text.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, "herald.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dump strings.Builder
	tables := tableNames(t, db)
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&dump, "%s\t", v)
			}
			dump.WriteByte('\n')
		}
		rows.Close()
	}
	text := dump.String()
	if !strings.Contains(text, "@example.com #**********") {
		t.Fatal("the dump does not hold the masked messages: the test reads the wrong database")
	}
	// The raw files: database, WAL and anything else in the directory.
	var raw [][]byte
	files, _ := os.ReadDir(e.dir)
	for _, f := range files {
		if f.Name() == KeyFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(e.dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, b)
	}
	for _, c := range codes {
		if strings.Contains(text, c) {
			t.Errorf("code %s in a table", c)
		}
		for _, b := range raw {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("code %s in the raw database files", c)
			}
		}
	}
	t.Logf("%d codes sent; %d tables (%s) and %d files read: no code found", len(codes), len(tables), strings.Join(tables, ", "), len(raw))
}

func tableNames(t *testing.T, db *sql.DB) []string {
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
