package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/migration"
	"github.com/herald-sms/herald/internal/store/postgres"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// This file is the one place cmd picks a store backend: the embedded
// SQLite store in a data directory (the default), or PostgreSQL when a
// postgres:// URL is given (--store, HERALD_STORE, "store").

// isPostgres reports whether a --store value names PostgreSQL.
func isPostgres(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// checkStore validates a --store value: empty (SQLite in the data
// directory) or a postgres:// URL.
func checkStore(s string) error {
	if s == "" {
		return nil
	}
	if !isPostgres(s) {
		return errors.New("want a postgres:// URL, or nothing for SQLite in the data directory")
	}
	if _, err := url.Parse(s); err != nil {
		return errors.New("the URL cannot be parsed")
	}
	return nil
}

// openStore opens the configured store and applies its migrations.
func openStore(ctx context.Context, storeURL, data string, log *slog.Logger) (store.Store, error) {
	return openNodeStore(ctx, storeURL, data, "", log)
}

// openNodeStore opens the store for a serving node: with PostgreSQL and
// a node id, in cluster mode.
func openNodeStore(ctx context.Context, storeURL, data, node string, log *slog.Logger) (store.Store, error) {
	if isPostgres(storeURL) {
		return postgres.Open(ctx, storeURL, postgres.Options{Logger: log, Node: node})
	}
	return sqlite.Open(data, sqlite.Options{Logger: log})
}

// defaultNode is a node id from the host name and the API port (a
// random suffix when the port is chosen by the system).
func defaultNode(httpAddr string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "herald"
	}
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, host)
	_, port, _ := net.SplitHostPort(httpAddr)
	if port == "" || port == "0" {
		var b [3]byte
		rand.Read(b[:])
		port = hex.EncodeToString(b[:])
	}
	return host[:min(len(host), 50)] + "-" + port
}

// describeStore names the store for logs and banners, without secrets.
func describeStore(storeURL, data string) string {
	if storeURL == "" {
		return "sqlite in " + data
	}
	return redactStoreURL(storeURL)
}

// redactStoreURL hides a database URL's password, in the user part or
// in a password= parameter.
func redactStoreURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// runMigrate is `herald migrate [--store URL | --data DIR]`.
func (m *Main) runMigrate(ctx context.Context, args []string) error {
	fs := m.flagSet("migrate", "[--store postgres://… | --data DIR]")
	storeURL := fs.String("store", envOr("HERALD_STORE", ""), "PostgreSQL URL (env HERALD_STORE); empty: SQLite in --data")
	data := fs.String("data", envOr("HERALD_DATA", "./herald-data"), "data directory of the SQLite store (env HERALD_DATA)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkStore(*storeURL); err != nil {
		return fmt.Errorf("migrate: --store: %w", err)
	}
	var applied []migration.Migration
	var err error
	if isPostgres(*storeURL) {
		applied, err = postgres.Migrate(ctx, *storeURL)
	} else {
		applied, err = sqlite.Migrate(*data)
	}
	where := describeStore(*storeURL, *data)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", where, err)
	}
	for _, mg := range applied {
		fmt.Fprintf(m.Stdout, "applied %s\n", mg)
	}
	if len(applied) == 0 {
		fmt.Fprintf(m.Stdout, "%s: schema up to date\n", where)
	} else {
		fmt.Fprintf(m.Stdout, "%s: %d migration(s) applied\n", where, len(applied))
	}
	return nil
}
