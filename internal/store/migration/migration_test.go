package migration

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func files(names ...string) fstest.MapFS {
	fs := fstest.MapFS{}
	for _, n := range names {
		fs["m/"+n] = &fstest.MapFile{Data: []byte("-- " + n)}
	}
	return fs
}

func versions(ms []Migration) []int {
	var out []int
	for _, m := range ms {
		out = append(out, m.Version)
	}
	return out
}

func TestLoadAcceptsGapsInOrder(t *testing.T) {
	ms, err := Load(files("0003_inbound.sql", "0001_core.sql", "0010_later.sql"), "m")
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(ms); !slices.Equal(got, []int{1, 3, 10}) || ms[1].Name != "inbound" {
		t.Fatalf("loaded %v", ms)
	}
	for _, bad := range [][]string{{"0001_a.sql", "0001_b.sql"}, {"core.sql"}, {"0000_zero.sql"}} {
		if _, err := Load(files(bad...), "m"); err == nil {
			t.Errorf("Load(%v) accepted", bad)
		}
	}
}

func TestPlan(t *testing.T) {
	ms, err := Load(files("0001_core.sql", "0003_inbound.sql", "0004_verify.sql"), "m")
	if err != nil {
		t.Fatal(err)
	}
	core, inbound, verify := map[int]string{1: "core"}, map[int]string{1: "core", 3: "inbound"}, map[int]string{1: "core", 3: "inbound", 4: "verify"}
	for _, tc := range []struct {
		applied map[int]string
		want    []int
		err     string
	}{
		{nil, []int{1, 3, 4}, ""},
		{core, []int{3, 4}, ""},
		{inbound, []int{4}, ""},
		{verify, nil, ""},
		{map[int]string{1: "core", 3: "inbound", 4: "verify", 5: "later"}, nil, "newer than this binary"},
		// Applied by a build of another branch.
		{map[int]string{1: "core", 2: "verify"}, nil, "does not know"},
		{map[int]string{1: "core", 2: "verify", 3: "fraud"}, nil, "does not know"},
		{map[int]string{1: "core", 3: "fraud"}, nil, "another branch"},
		// 0003 was numbered below 0004, already applied: it would be skipped.
		{map[int]string{1: "core", 4: "verify"}, nil, "renumbered"},
	} {
		got, err := Plan(ms, tc.applied)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Plan(%v): %v, %v; want an error with %q", tc.applied, versions(got), err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(versions(got), tc.want) {
			t.Errorf("Plan(%v) = %v, %v; want %v", tc.applied, versions(got), err, tc.want)
		}
	}
}
