package fraud

import "time"

// window counts events in a sliding window of fixed buckets.
type window struct {
	bucket time.Duration
	counts []int
	last   int64 // index of the newest bucket written (time / bucket)
}

func newWindow(span time.Duration, buckets int) *window {
	return &window{bucket: span / time.Duration(buckets), counts: make([]int, buckets)}
}

// advance clears the buckets that have left the window by time t.
func (w *window) advance(t time.Time) int64 {
	i := t.UnixNano() / int64(w.bucket)
	n := int64(len(w.counts))
	if i-w.last >= n {
		clear(w.counts)
	} else {
		for j := w.last + 1; j <= i; j++ {
			w.counts[j%n] = 0
		}
	}
	if i > w.last {
		w.last = i
	}
	return i
}

func (w *window) add(t time.Time, k int) {
	i := w.advance(t)
	w.counts[i%int64(len(w.counts))] += k
}

// undo takes back one event counted at about t: from t's bucket, or the
// newest earlier bucket in the window that has one.
func (w *window) undo(t time.Time) {
	i := w.advance(t)
	n := int64(len(w.counts))
	for j := i; j > i-n && j >= 0; j-- {
		if w.counts[j%n] > 0 {
			w.counts[j%n]--
			return
		}
	}
}

func (w *window) sum(t time.Time) int {
	w.advance(t)
	s := 0
	for _, c := range w.counts {
		s += c
	}
	return s
}

// retryAfter is how long until the oldest bucket leaves the window.
func (w *window) retryAfter(t time.Time) time.Duration {
	next := time.Unix(0, (t.UnixNano()/int64(w.bucket)+1)*int64(w.bucket))
	return next.Sub(t)
}

// sumBefore counts the events in the window that are at least age old
// (to the bucket).
func (w *window) sumBefore(t time.Time, age time.Duration) int {
	i := w.advance(t)
	n := int64(len(w.counts))
	cut := t.Add(-age).UnixNano() / int64(w.bucket)
	s := 0
	for j := i - n + 1; j <= cut; j++ {
		if j >= 0 {
			s += w.counts[j%n]
		}
	}
	return s
}
