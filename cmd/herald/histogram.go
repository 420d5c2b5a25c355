package main

import (
	"math"
	"math/bits"
)

// histogram counts durations in log-linear buckets, as HdrHistogram does:
// values below 2·histSub nanoseconds exactly, and each larger value v in
// a bucket of width 2^e where histSub·2^e ≤ v < 2·histSub·2^e. A bucket
// is thus at most 1/histSub (0.8%) of its values wide, and reading it as
// its midpoint is off by at most 0.4%. The zero value is empty; it is not
// safe for concurrent use.
type histogram struct {
	counts []uint64
	n      uint64
	max    int64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits
)

// histIndex returns the bucket of v (negative values count as 0).
func histIndex(v int64) int {
	if v < 2*histSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - (histSubBits + 1)
	return e<<histSubBits + int(uint64(v)>>e)
}

// histValue returns the middle of bucket i.
func histValue(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	e := i>>histSubBits - 1
	lo := int64(i-e<<histSubBits) << e
	return lo + int64(1)<<e/2
}

func (h *histogram) record(v int64) {
	v = max(v, 0)
	i := histIndex(v)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
	h.max = max(h.max, v)
}

// quantile returns the value at quantile q (0 to 1): the bucket holding
// the ceil(q·n)-th smallest value, read as its middle but never above the
// largest value recorded.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := min(max(uint64(math.Ceil(q*float64(h.n))), 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(histValue(i), h.max)
		}
	}
	return h.max
}

func (h *histogram) summary() *Latencies {
	toMS := func(ns int64) float64 { return float64(ns) / 1e6 }
	return &Latencies{Count: int(h.n), P50: toMS(h.quantile(0.50)), P90: toMS(h.quantile(0.90)),
		P99: toMS(h.quantile(0.99)), P999: toMS(h.quantile(0.999)), Max: toMS(h.max)}
}
