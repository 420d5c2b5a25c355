package sqlite

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-sms/herald/internal/herald"
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
	dir := t.TempDir()
	db := migratedBelow(t, dir, 8)
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
	s := reopen(t, db, dir)
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
	if p := queryPlan(t, s.r, `SELECT id FROM events WHERE message_id = ? AND account_id = ? ORDER BY at, id`, "msg_1", "acc_1"); !strings.Contains(p, "SEARCH events USING PRIMARY KEY (message_id=?)") || strings.Contains(p, "TEMP B-TREE") {
		t.Fatalf("query plan = %q, want a search of the primary key without sorting", p)
	}
}

// migratedBelow returns the database in dir with the migrations numbered
// below version applied, as a binary of that time left it.
func migratedBelow(t *testing.T, dir string, version int) *sql.DB {
	t.Helper()
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := openWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= version {
			break
		}
		if _, err := db.Exec(m.SQL); err != nil {
			t.Fatalf("migration %d: %v", m.Version, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// reopen closes db, the database in dir, and opens it as a Store, which
// applies the migrations it lacks.
func reopen(t *testing.T, db *sql.DB, dir string) *Store {
	t.Helper()
	db.Close()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// queryPlan returns SQLite's plan for q, its details joined by "; ".
func queryPlan(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// TestChecksMigration: migration 0009 rebuilds messages, parts and
// deliveries with their CHECK constraints written without IN lists: the
// rows and indexes are kept, the constraints accept exactly the values
// they accepted, and the queries for pending messages use the partial
// index (the expiry sweep scanned the whole table before).
func TestChecksMigration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := migratedBelow(t, dir, 9)
	for _, q := range []string{
		`INSERT INTO messages (id, account_id, to_addr, from_addr, body, type, status, encoding, part_count, created_at, updated_at)
			VALUES ('msg_1', 'acc_1', '+447700900123', 'Herald', 'hi', 'otp', 'queued', 'gsm7', 1, 1, 1)`,
		`INSERT INTO parts (message_id, seq, status, short_message, data_coding, esm_class) VALUES ('msg_1', 1, 'queued', x'6869', 0, 0)`,
		`INSERT INTO deliveries (id, account_id, message_id, event_id, url, secret, payload, next_at, state, created_at)
			VALUES ('dlv_1', 'acc_1', 'msg_1', 'evt_1', 'http://127.0.0.1/', 's', x'7b7d', 5, 'pending', 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s := reopen(t, db, dir)
	m, err := s.Message(t.Context(), "acc_1", "msg_1", true)
	if err != nil || m.Status != herald.StatusQueued || len(m.Parts) != 1 || string(m.Parts[0].ShortMessage) != "hi" {
		t.Fatalf("message after the migration = %+v, %v", m, err)
	}
	var dels int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM deliveries WHERE state = 'pending' AND next_at = 5`).Scan(&dels); err != nil || dels != 1 {
		t.Fatalf("deliveries after the migration: %d, %v", dels, err)
	}
	var indexes []string
	rows, err := s.r.Query(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('messages', 'parts', 'deliveries')
		AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		indexes = append(indexes, n)
	}
	rows.Close()
	if got, want := strings.Join(indexes, " "), "deliveries_due deliveries_message messages_account messages_pending messages_reference messages_to parts_sent"; got != want {
		t.Fatalf("indexes after the migration: %s, want %s", got, want)
	}

	// The constraints: every value of the state machine passes, others
	// do not (tried in a transaction that is rolled back).
	tx, err := s.w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	try := func(q string, v any) error { _, err := tx.Exec(q, v); return err }
	statuses := []herald.Status{herald.StatusAccepted, herald.StatusScheduled, herald.StatusQueued, herald.StatusSending,
		herald.StatusSent, herald.StatusDelivered, herald.StatusUndelivered, herald.StatusExpired, herald.StatusFailed,
		herald.StatusRejected, herald.StatusCanceled, herald.StatusUnknown}
	for _, st := range statuses {
		if err := try(`UPDATE messages SET status = ? WHERE id = 'msg_1'`, string(st)); err != nil {
			t.Errorf("message status %s refused: %v", st, err)
		}
		if err := try(`UPDATE parts SET status = ? WHERE message_id = 'msg_1'`, string(st)); err != nil {
			t.Errorf("part status %s refused: %v", st, err)
		}
	}
	for _, typ := range []string{"otp", "transactional", "marketing"} {
		if err := try(`UPDATE messages SET type = ? WHERE id = 'msg_1'`, typ); err != nil {
			t.Errorf("message type %s refused: %v", typ, err)
		}
	}
	for _, state := range []string{"pending", "delivered", "failed", "disabled"} {
		if err := try(`UPDATE deliveries SET state = ? WHERE id = 'dlv_1'`, state); err != nil {
			t.Errorf("delivery state %s refused: %v", state, err)
		}
	}
	for q, bad := range map[string]string{
		`UPDATE messages SET status = ? WHERE id = 'msg_1'`:      "received",
		`UPDATE messages SET type = ? WHERE id = 'msg_1'`:        "promo",
		`UPDATE parts SET status = ? WHERE message_id = 'msg_1'`: "QUEUED",
		`UPDATE deliveries SET state = ? WHERE id = 'dlv_1'`:     "",
	} {
		if err := try(q, bad); err == nil || !strings.Contains(err.Error(), "CHECK") {
			t.Errorf("%s with %q: err = %v, want a CHECK failure", q, bad, err)
		}
	}

	for _, q := range []string{`SELECT id FROM messages WHERE ` + pendingStatus + ` ORDER BY id`, statements["expire.unsent"]} {
		if p := queryPlan(t, s.r, q, 1); !strings.Contains(p, "USING INDEX messages_pending") {
			t.Errorf("plan of %s: %s, want the partial index messages_pending", q, p)
		}
	}
}
