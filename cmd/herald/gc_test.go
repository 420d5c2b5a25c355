package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	// Not parallel: the collector's settings are the process's.
	prevPercent := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	}()

	tuneGC(func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, GC percent changed to %d", got)
	}

	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC percent %d, want %d", got, gcPercent)
	}
	limit := debug.SetMemoryLimit(math.MaxInt64)
	if limit <= 0 || limit > maxMemoryLimit {
		t.Errorf("memory limit %d, want in (0, %d]", limit, maxMemoryLimit)
	}
	if total := memTotal(); total > 0 && limit > total/2 {
		t.Errorf("memory limit %d above half of the machine's %d", limit, total)
	}

	debug.SetMemoryLimit(123 << 20)
	tuneGC(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "123MiB"
		}
		return ""
	})
	if got := debug.SetMemoryLimit(math.MaxInt64); got != 123<<20 {
		t.Errorf("with GOMEMLIMIT set, limit changed to %d", got)
	}
}
