package main

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercent is the garbage collector's target for `herald serve` unless
// GOGC is set. Go's default (100) lets the heap grow to twice the live
// data before collecting; Herald's hot paths allocate per request, per
// PDU and per row, and with the default the collector took 10–15 % of the
// CPU under load. At 400 BenchmarkPlatform (single requests) measured
// about 15 % more messages a second (docs/benchmarks.md, session 4).
const gcPercent = 400

// maxMemoryLimit caps the soft memory limit set with gcPercent.
const maxMemoryLimit = 2 << 30

// tuneGC applies gcPercent with a soft memory limit (half the machine's
// memory, at most maxMemoryLimit), so that the larger heap target never
// pushes the process towards swapping: near the limit the collector runs
// as often as it must. GOGC and GOMEMLIMIT, when set, are left to the
// runtime.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(gcPercent)
	if getenv("GOMEMLIMIT") == "" {
		limit := int64(maxMemoryLimit)
		if total := memTotal(); total > 0 && total/2 < limit {
			limit = total / 2
		}
		debug.SetMemoryLimit(limit)
	}
}

// memTotal returns the machine's memory in bytes from /proc/meminfo, or 0.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
