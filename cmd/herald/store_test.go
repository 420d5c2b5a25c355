package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
)

func TestStoreOption(t *testing.T) {
	t.Parallel()
	const pg = "postgres://herald:s3cret@db.example:5432/herald"
	m := &Main{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

	cfg, err := m.serveConfig(nil, env(nil))
	if err != nil || cfg.Store != "" {
		t.Fatalf("default: store %q, %v; want empty (SQLite)", cfg.Store, err)
	}
	cfg, err = m.serveConfig(nil, env(map[string]string{"HERALD_STORE": pg}))
	if err != nil || cfg.Store != pg {
		t.Fatalf("HERALD_STORE: store %q, %v", cfg.Store, err)
	}
	file := filepath.Join(t.TempDir(), "herald.json")
	os.WriteFile(file, []byte(`{"store": "postgresql://a@b/c"}`), 0o600)
	cfg, err = m.serveConfig([]string{"--config", file}, env(nil))
	if err != nil || cfg.Store != "postgresql://a@b/c" {
		t.Fatalf("config file: store %q, %v", cfg.Store, err)
	}
	cfg, err = m.serveConfig([]string{"--config", file, "--store", pg}, env(map[string]string{"HERALD_STORE": "postgres://x@y/z"}))
	if err != nil || cfg.Store != pg {
		t.Fatalf("--store wins: store %q, %v", cfg.Store, err)
	}
	if _, err := m.serveConfig([]string{"--store", "mysql://a@b/c"}, env(nil)); err == nil || !strings.Contains(err.Error(), "config: store:") {
		t.Fatalf("a mysql URL: %v; want a store error", err)
	}
}

func TestStoreURLRedacted(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"postgres://herald:s3cret@db:5432/herald?sslmode=require",
		"postgres://herald@db/herald?password=s3cret",
	} {
		got := redactStoreURL(raw)
		if strings.Contains(got, "s3cret") || !strings.Contains(got, "@db") || !strings.HasPrefix(got, "postgres://herald") {
			t.Errorf("redactStoreURL(%q) = %q", raw, got)
		}
	}
	if got := describeStore("", "/var/lib/herald"); got != "sqlite in /var/lib/herald" {
		t.Errorf("describeStore = %q", got)
	}
}

func TestMigrateSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out}
	if err := m.Run(t.Context(), []string{"migrate", "--data", dir}); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "applied 0001_core") {
		t.Fatalf("first migrate printed %q; want applied 0001_core", out.String())
	}
	out.Reset()
	if err := m.Run(t.Context(), []string{"migrate", "--data", dir}); err != nil || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("second migrate: %v %q", err, out.String())
	}
}

func TestMigratePostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out}
	if err := m.Run(t.Context(), []string{"migrate", "--store", url}); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "applied 0001_core") {
		t.Fatalf("first migrate printed %q; want applied 0001_core", out.String())
	}
	out.Reset()
	if err := m.Run(t.Context(), []string{"migrate", "--store", url}); err != nil || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("second migrate: %v %q", err, out.String())
	}
}
