package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// BenchmarkVerifyLane drives the OTP lane of a whole platform in process
// with an open-loop load: b.N verifications at -verify-rate a second
// (default 1,000) to distinct random numbers, each checked with its code
// as soon as the carrier (an in-process simulator) received it, so that
// starts and checks run at the same rate together. It reports the p50
// and p99 of POST /v1/verifications → submit_sm at the carrier, and of
// the check's round trip. The garbage collector is set as `herald serve`
// sets it (GOGC=400 unless GOGC is set).
//
//	go test ./cmd/herald -run '^$' -bench VerifyLane -benchtime 3000x
func BenchmarkVerifyLane(b *testing.B) {
	rate := 1000.0
	if v := os.Getenv("HERALD_VERIFY_RATE"); v != "" {
		fmt.Sscan(v, &rate)
	}
	tuneGC(os.Getenv) // as `herald serve` does
	tp, sink := startVerifyPlatform(b, func(c *Config) {
		zero := 0
		c.Fraud.OTP.Prefix = &zero // distinct random numbers still share prefixes; the guard stays on
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024}, Timeout: 30 * time.Second}
	var mu sync.Mutex
	started := map[string]time.Time{} // mu guards started, submitLat, checkLat, failures
	var submitLat, checkLat []time.Duration
	failures := map[string]int{}
	var wg sync.WaitGroup
	post := func(path, body string) (int, []byte, error) {
		req, _ := http.NewRequestWithContext(context.Background(), "POST", tp.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tp.key)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(res.Body)
		return res.StatusCode, buf.Bytes(), nil
	}
	ids := map[string]string{} // mu guards ids: number → verification id
	sink.mu.Lock()
	sink.seen = func(to, text string, at time.Time) {
		now := time.Now()
		code := strings.Fields(text)[0]
		mu.Lock()
		t0, ok := started[to]
		id := ids[to]
		if ok {
			submitLat = append(submitLat, now.Sub(t0))
		}
		mu.Unlock()
		wg.Go(func() {
			for id == "" { // the submit may beat the POST's answer
				time.Sleep(time.Millisecond)
				mu.Lock()
				id = ids[to]
				mu.Unlock()
			}
			t := time.Now()
			status, body, err := post("/v1/verifications/"+id+"/check", `{"code":"`+code+`"}`)
			d := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || status != 200 || !bytes.Contains(body, []byte(`"valid":true`)) {
				failures[fmt.Sprintf("check %d %v", status, err)]++
				return
			}
			checkLat = append(checkLat, d)
		})
	}
	sink.mu.Unlock()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var numbers []string // distinct valid numbers, in random order
	for _, n := range r.Perm(1_000_000) {
		to := fmt.Sprintf("+447911%06d", n)
		if p, err := phonenumbers.Parse(to, ""); err == nil && phonenumbers.IsValidNumber(p) {
			numbers = append(numbers, to)
		}
		if len(numbers) == b.N {
			break
		}
	}
	b.ResetTimer()
	begin := time.Now()
	for i := range b.N {
		if d := time.Until(begin.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
			time.Sleep(d) // open-loop pacing
		}
		to := numbers[i%len(numbers)]
		wg.Go(func() {
			mu.Lock()
			started[to] = time.Now()
			mu.Unlock()
			status, body, err := post("/v1/verifications", `{"to":"`+to+`"}`)
			var v struct{ ID string }
			json.Unmarshal(body, &v)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || status != http.StatusCreated {
				failures[fmt.Sprintf("start %d %v %.80s", status, err, body)]++
				return
			}
			ids[to] = v.ID
		})
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(checkLat)
		f := 0
		for _, k := range failures {
			f += k
		}
		mu.Unlock()
		if n+f >= b.N || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	pct := func(ds []time.Duration, p float64) float64 {
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return float64(ds[min(int(float64(len(ds))*p), len(ds)-1)]) / float64(time.Millisecond)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	b.Logf("%d verifications at %.0f/s in %s: submit p50 %.1f ms p99 %.1f ms (%d); check p50 %.1f ms p99 %.1f ms (%d); failures %v; loadavg %s",
		b.N, rate, elapsed.Round(time.Millisecond), pct(submitLat, .5), pct(submitLat, .99), len(submitLat),
		pct(checkLat, .5), pct(checkLat, .99), len(checkLat), failures, strings.TrimSpace(string(load)))
	b.ReportMetric(pct(submitLat, .99), "submit-p99-ms")
	b.ReportMetric(pct(checkLat, .99), "check-p99-ms")
	b.ReportMetric(float64(len(checkLat))/elapsed.Seconds(), "approved/s")
}
