// Package migration reads a store backend's numbered schema migrations
// (migrations/NNNN_name.sql in an embedded file system). Each backend
// applies them in its own way and records them in schema_migrations.
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

func (m Migration) String() string { return fmt.Sprintf("%04d_%s", m.Version, m.Name) }

// Load returns the migrations in dir of fsys, in version order. File
// names must be NNNN_name.sql with distinct positive versions; the
// series may have gaps (a number kept for a branch not merged yet).
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Plan returns the migrations to apply, in order, to a database that has
// recorded applied (version → name): those numbered above the highest
// applied one. A database is refused when it has applied a version this
// binary does not know, or knows by another name (a newer binary, or a
// build of another branch, migrated it), and when it lacks a known
// version numbered below its highest: such a migration was numbered below
// one already applied (a branch merged after a later migration shipped)
// and would otherwise be skipped for ever. A new migration must be
// numbered above every version any database may have.
func Plan(ms []Migration, applied map[int]string) ([]Migration, error) {
	current := 0
	for v := range applied {
		current = max(current, v)
	}
	known := map[int]string{}
	for _, m := range ms {
		known[m.Version] = m.Name
	}
	last := 0
	if n := len(ms); n > 0 {
		last = ms[n-1].Version
	}
	if current > last {
		return nil, fmt.Errorf("the database is at schema version %d, newer than this binary knows (%d); use a newer herald", current, last)
	}
	var versions []int
	for v := range applied {
		versions = append(versions, v)
	}
	sort.Ints(versions)
	for _, v := range versions {
		name, ok := known[v]
		switch {
		case !ok:
			return nil, fmt.Errorf("the database has applied schema version %d (%s), which this binary does not know (a build of another branch migrated it); use the herald that did", v, applied[v])
		case name != applied[v]:
			return nil, fmt.Errorf("the database's schema version %d is %s, this binary's is %s (a build of another branch migrated it); use the herald that did", v, applied[v], name)
		}
	}
	var out []Migration
	for _, m := range ms {
		_, done := applied[m.Version]
		switch {
		case m.Version > current:
			out = append(out, m)
		case !done:
			return nil, fmt.Errorf("migration %s is numbered below the database's schema version %d but was never applied; it must be renumbered above every version already released", m, current)
		}
	}
	return out, nil
}
