package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrationsAppliedOnceInOrder(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("migrations = %+v, want the first to be version 1", ms)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Version <= ms[i-1].Version {
			t.Fatalf("migrations out of order: %d after %d", ms[i].Version, ms[i-1].Version)
		}
	}
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, max int
	if err := db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != ms[len(ms)-1].Version {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d up to %d", n, max, len(ms), ms[len(ms)-1].Version)
	}
	again, err := migrate(db)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", again, err)
	}

	// A database from a newer binary is refused, not used.
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("Open of a newer database: err = %v, want a refusal", err)
	}
}

// TestEventsMigration: a database from before migration 0008 keeps its
// events, read back in order, and the query that reads them searches the
// new primary key instead of scanning.
func TestEventsMigration(t *testing.T) {
	t.Parallel()
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := openWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 8 {
			break
		}
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("migration %d: %v", m.Version, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO messages (id, account_id, to_addr, from_addr, body, type, status, encoding,
		part_count, created_at, updated_at) VALUES ('msg_1', 'acc_1', '+447700900123', 'Herald', 'hi', 'otp', 'sent', 'gsm7', 1, 1, 3)`); err != nil {
		t.Fatal(err)
	}
	// Inserted out of order: the read orders them by time, then id.
	for _, e := range []struct {
		id, status string
		at         int64
	}{{"evt_3", "sent", 3000}, {"evt_1", "queued", 1000}, {"evt_2b", "sending", 2000}, {"evt_2a", "sending", 2000}} {
		if _, err := db.Exec(`INSERT INTO events (id, account_id, message_id, type, status, at, detail) VALUES (?, 'acc_1', 'msg_1', ?, ?, ?, 'd')`,
			e.id, e.status, e.status, e.at); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs, err := s.Events(t.Context(), "acc_1", "msg_1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.ID+":"+string(e.Status))
	}
	if want := "evt_1:queued evt_2a:sending evt_2b:sending evt_3:sent"; strings.Join(got, " ") != want {
		t.Fatalf("events after the migration = %v, want %s", got, want)
	}
	var plan []string
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN SELECT id FROM events WHERE message_id = ? AND account_id = ? ORDER BY at, id`, "msg_1", "acc_1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "SEARCH events USING PRIMARY KEY (message_id=?)") || strings.Contains(p, "TEMP B-TREE") {
		t.Fatalf("query plan = %q, want a search of the primary key without sorting", p)
	}
}
