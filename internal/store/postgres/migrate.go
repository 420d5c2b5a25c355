package postgres

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/herald-sms/herald/internal/store/migration"
)

// The schema is a numbered series of migrations (migrations/NNNN_name.sql,
// numbered like SQLite's), each applied once, in order, in its own
// transaction, and recorded in schema_migrations. Nodes that start
// together take turns through an advisory lock; a database newer than
// the binary (a version it does not know) is refused, and so is one that
// lacks a migration numbered below its highest (migration.Plan).
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one schema step.
type Migration = migration.Migration

// migrateLock is the advisory lock (class, id) held while migrating:
// class "HMIG", written in decimal (PostgreSQL 15 has no hex literals).
const migrateLock = "1213024583, 0"

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) {
	ms, err := migration.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// Migrate connects to url, applies the migrations the database lacks
// and returns them; it is what `herald migrate` runs. Open does the same.
func Migrate(ctx context.Context, url string) ([]Migration, error) {
	pool, err := connect(ctx, url, 1)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	return migrate(ctx, pool)
}

func migrate(ctx context.Context, pool *pgxpool.Pool) ([]Migration, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	// A session lock, so that it spans the migrations' transactions.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+migrateLock+`)`); err != nil {
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+migrateLock+`)`)

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at bigint NOT NULL
)`); err != nil {
		return nil, fmt.Errorf("postgres: schema_migrations: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT version, name FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("postgres: schema version: %w", err)
	}
	done := map[int]string{}
	var v int
	var name string
	if _, err := pgx.ForEachRow(rows, []any{&v, &name}, func() error { done[v] = name; return nil }); err != nil {
		return nil, fmt.Errorf("postgres: schema version: %w", err)
	}
	todo, err := migration.Plan(ms, done)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	var applied []Migration
	for _, m := range todo {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return applied, fmt.Errorf("postgres: migration %s: %w", m, err)
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			tx.Rollback(ctx)
			return applied, fmt.Errorf("postgres: migration %s: %w", m, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UnixNano()); err != nil {
			tx.Rollback(ctx)
			return applied, fmt.Errorf("postgres: migration %s: %w", m, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return applied, fmt.Errorf("postgres: migration %s: commit: %w", m, err)
		}
		applied = append(applied, m)
	}
	return applied, nil
}
