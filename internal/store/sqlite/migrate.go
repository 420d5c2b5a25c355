package sqlite

import (
	"database/sql"
	"embed"
	"fmt"
	"slices"
	"time"

	"github.com/herald-sms/herald/internal/store/migration"
)

// The schema is a numbered series of migrations (migrations/NNNN_name.sql),
// each applied once, in order, in its own transaction, and recorded in
// schema_migrations. A database newer than the binary (a version this
// binary does not know), or one that lacks a migration numbered below its
// highest, is refused rather than used (migration.Plan).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one schema step.
type Migration = migration.Migration

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) {
	ms, err := migration.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// Migrate opens (creating if needed) the database in dir, applies the
// migrations it has not seen yet and returns them; it is what `herald
// migrate` runs. Open does the same.
func Migrate(dir string) ([]Migration, error) {
	db, err := openWriter(dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	versions, err := migrate(db)
	if err != nil {
		return nil, err
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, m := range ms {
		if slices.Contains(versions, m.Version) {
			out = append(out, m)
		}
	}
	return out, nil
}

// migrate applies the migrations db has not seen yet and returns the
// versions it applied.
func migrate(db *sql.DB) ([]int, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at INTEGER NOT NULL
)`); err != nil {
		return nil, fmt.Errorf("sqlite: schema_migrations: %w", err)
	}
	rows, err := db.Query(`SELECT version, name FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: schema version: %w", err)
	}
	done := map[int]string{}
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: schema version: %w", err)
		}
		done[v] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: schema version: %w", err)
	}
	todo, err := migration.Plan(ms, done)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	var applied []int
	for _, m := range todo {
		tx, err := db.Begin()
		if err != nil {
			return applied, err
		}
		if _, err := tx.Exec(m.SQL); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("sqlite: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixNano()); err != nil {
			tx.Rollback()
			return applied, err
		}
		if err := tx.Commit(); err != nil {
			return applied, fmt.Errorf("sqlite: migration %04d_%s: commit: %w", m.Version, m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}
