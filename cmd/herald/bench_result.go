package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// BenchResult is what a bench run measured. Counts are of messages.
type BenchResult struct {
	URL         string  `json:"url"`
	Messages    int     `json:"messages"`
	Batch       int     `json:"batch"`
	Mode        string  `json:"mode"` // "closed" or "open"
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"` // messages/s asked for (open loop)
	Interrupted bool    `json:"interrupted,omitempty"`
	TimedOut    bool    `json:"timed_out,omitempty"` // not everything arrived within the timeout
	LoadSeconds float64 `json:"load_seconds"`

	Sent      int `json:"sent"`      // in requests that were sent
	Accepted  int `json:"accepted"`  // answered 2xx (in a batch: the item had no error)
	Submitted int `json:"submitted"` // seen by the simulator at least once (-1: no simulator)
	Delivered int `json:"delivered"` // message.delivered webhook received (-1: no receiver)
	// SubmitBefore2xx counts messages whose submit_sm reached the
	// simulator before the client had read the 2xx (counted as 0 in
	// the accept→submit latency).
	SubmitBefore2xx int `json:"submit_before_2xx"`

	AcceptedPerSec  float64 `json:"accepted_per_sec"`
	SubmittedPerSec float64 `json:"submitted_per_sec"`
	DeliveredPerSec float64 `json:"delivered_per_sec"`

	Accept            *Latencies `json:"accept"`
	AcceptToSubmit    *Latencies `json:"accept_to_submit,omitempty"`
	AcceptToDelivered *Latencies `json:"accept_to_delivered,omitempty"`

	ErrorCount int            `json:"error_count"`
	Errors     map[string]int `json:"errors"`
}

// Latencies summarises a histogram, in milliseconds.
type Latencies struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// result computes the summary. It runs after the load has ended.
func (b *Bench) result(loadDur time.Duration, interrupted, timedOut bool) *BenchResult {
	t := b.tr
	r := &BenchResult{
		URL: b.URL, Messages: b.Messages, Batch: b.Batch, Mode: "closed", Concurrency: b.Concurrency,
		Interrupted: interrupted, TimedOut: timedOut, LoadSeconds: loadDur.Seconds(),
		Sent: int(t.sent.Load()), Submitted: -1, Delivered: -1,
	}
	if b.Rate > 0 {
		r.Mode, r.Rate = "open", b.Rate
	}
	var accept, toSubmit, toDelivered histogram
	firstAccept, lastDelivered := int64(math.MaxInt64), int64(0)
	firstSubmit, lastSubmit := int64(math.MaxInt64), int64(0)
	errs := map[string]int{}
	t.mu.Lock()
	for i := range b.Messages {
		acc := t.acceptedAt[i].Load()
		if acc == 0 {
			continue
		}
		r.Accepted++
		firstAccept = min(firstAccept, acc)
		accept.record(acc - t.sched[i])
		if b.sim != nil {
			n := t.submits[i].Load()
			if extra := int(n) - int(max(t.parts[i], 1)); extra > 0 {
				errs["duplicate submit"] += extra
			}
			if sub := t.submittedAt[i].Load(); sub != 0 {
				if sub < acc {
					r.SubmitBefore2xx++
				}
				toSubmit.record(sub - acc)
				firstSubmit, lastSubmit = min(firstSubmit, sub), max(lastSubmit, sub)
			} else if !interrupted {
				errs["not submitted"]++
			}
		}
		if b.hookLn != nil {
			fin, typ := t.finalAt[i].Load(), t.finalType[i]
			switch {
			case fin == 0:
				if !interrupted {
					errs["no final webhook"]++
				}
			case t.finalID[i] != t.ids[i]:
				errs["webhook of another message id"]++
			case typ == "message.delivered":
				toDelivered.record(fin - acc)
				lastDelivered = max(lastDelivered, fin)
			default:
				errs[typ]++
			}
		}
	}
	t.mu.Unlock()
	if loadDur > 0 {
		r.AcceptedPerSec = float64(r.Accepted) / loadDur.Seconds()
	}
	r.Accept = accept.summary()
	if b.sim != nil {
		r.Submitted = int(toSubmit.n)
		if r.Submitted > 1 && lastSubmit > firstSubmit {
			r.SubmittedPerSec = float64(r.Submitted) / time.Duration(lastSubmit-firstSubmit).Seconds()
		}
		r.AcceptToSubmit = toSubmit.summary()
	}
	if b.hookLn != nil {
		r.Delivered = int(toDelivered.n)
		if r.Delivered > 0 && lastDelivered > firstAccept {
			r.DeliveredPerSec = float64(r.Delivered) / time.Duration(lastDelivered-firstAccept).Seconds()
		}
		r.AcceptToDelivered = toDelivered.summary()
	}
	t.errs.mu.Lock()
	for k, v := range t.errs.m {
		errs[k] += v
	}
	t.errs.mu.Unlock()
	r.Errors = errs
	for _, v := range errs {
		r.ErrorCount += v
	}
	return r
}

// Line renders the result as the one summary line.
func (r *BenchResult) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bench: messages=%d batch=%d mode=%s", r.Messages, r.Batch, r.Mode)
	if r.Mode == "open" {
		fmt.Fprintf(&b, " rate=%g/s", r.Rate)
	} else {
		fmt.Fprintf(&b, " c=%d", r.Concurrency)
	}
	if r.Interrupted {
		b.WriteString(" INTERRUPTED")
	}
	if r.TimedOut {
		b.WriteString(" TIMED-OUT")
	}
	fmt.Fprintf(&b, " sent=%d accepted=%d submitted=%s delivered=%s", r.Sent, r.Accepted, count(r.Submitted), count(r.Delivered))
	fmt.Fprintf(&b, " accepted/s=%.0f submitted/s=%s delivered/s=%s", r.AcceptedPerSec,
		rate(r.SubmittedPerSec, r.Submitted), rate(r.DeliveredPerSec, r.Delivered))
	fmt.Fprintf(&b, " | accept %s | accept→submit %s | accept→delivered %s | errors=%d",
		r.Accept, r.AcceptToSubmit, r.AcceptToDelivered, r.ErrorCount)
	if r.ErrorCount > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			sep := ", "
			if i == 0 {
				sep = " ("
			}
			fmt.Fprintf(&b, "%s%s=%d", sep, k, r.Errors[k])
		}
		b.WriteString(")")
	}
	return b.String()
}

func count(n int) string {
	if n < 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func rate(perSec float64, n int) string {
	if n < 0 {
		return "-"
	}
	return strconv.FormatFloat(perSec, 'f', 0, 64)
}

func (l *Latencies) String() string {
	if l == nil {
		return "not measured"
	}
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50=%s p90=%s p99=%s p99.9=%s max=%s", ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max))
}

// ms renders milliseconds with three significant digits or so.
func ms(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.1fs", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.2fs", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fms", v)
}

// loadAverage returns ", load average 1.00 0.50 0.25" where the system
// tells (Linux), else "".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return ", load average " + strings.Join(f[:3], " ")
}

// destinationWidth returns the digits of prefix and the width the message
// numbers 0 to n-1 are zero-padded to after it, the narrowest that makes
// valid phone numbers (the API refuses others). It checks the first, the
// last and up to a thousand numbers in between.
func destinationWidth(prefix string, n int) (string, int, error) {
	digits, ok := strings.CutPrefix(prefix, "+")
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", 0, fmt.Errorf("%q is not + and digits", prefix)
	}
	step := max(n/1000, 1)
	for w := len(strconv.Itoa(max(n-1, 0))); len(digits)+w <= 15; w++ {
		ok := true
		for i := 0; ok && i < n; i += step {
			ok = validNumber(digits, w, i)
		}
		if ok && validNumber(digits, w, n-1) {
			return digits, w, nil
		}
	}
	return "", 0, fmt.Errorf("%s followed by %d numbers does not make valid phone numbers at any width (a shorter prefix leaves more room)", prefix, n)
}

func validNumber(digits string, width, i int) bool {
	p, err := phonenumbers.Parse(fmt.Sprintf("+%s%0*d", digits, width, i), "")
	return err == nil && phonenumbers.IsValidNumber(p)
}
