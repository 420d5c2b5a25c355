package dispatch_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/dispatch"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// BenchmarkOTPUnderBacklog queues a marketing backlog (HERALD_BACKLOG
// messages, default 1,000,000) on a carrier limited to 1,000 TPS, then
// sends one OTP per iteration, 40 a second, and measures the time from
// its acceptance (the store's commit returned) to its submit_sm at the
// simulator. Run it with -benchtime=400x; see docs/benchmarks.md.
func BenchmarkOTPUnderBacklog(b *testing.B) {
	backlog := 1_000_000
	if s := os.Getenv("HERALD_BACKLOG"); s != "" {
		backlog, _ = strconv.Atoi(s)
	}
	st, err := sqlite.Open(b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var submitted sync.Map // destination → time of its submit_sm, for OTPs
	sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0", OnSubmit: func(s smscsim.Submitted) {
		if strings.HasPrefix(s.Dest.Addr, "1555") {
			submitted.Store(s.Dest.Addr, s.At)
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	link := carrier.New(carrier.Config{Name: "sim", Addr: sim.Addr(), SystemID: "t", Window: 100, TPS: 1000,
		SourceTON: -1, SourceNPI: -1}, receipts{st, func() {}}, nil)
	disp := dispatch.New(dispatch.Options{Store: st, Links: []dispatch.Link{link}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- disp.Run(ctx) }()
	defer func() { cancel(); <-done }()
	acc, err := st.EnsureAccount(b.Context(), "campaigner")
	if err != nil {
		b.Fatal(err)
	}
	bank, err := st.EnsureAccount(b.Context(), "bank")
	if err != nil {
		b.Fatal(err)
	}

	msg := func(acct, to string, typ herald.MessageType, now time.Time) *herald.Message {
		return testMessage(acct, to, typ, "sim", now)
	}
	start := time.Now()
	const batch = 5000
	for i := 0; i < backlog; i += batch {
		now := time.Now().UTC()
		items := make([]*store.NewMessage, 0, batch)
		ms := make([]*herald.Message, 0, batch)
		for k := i; k < min(i+batch, backlog); k++ {
			m := msg(acc.ID, fmt.Sprintf("+44791%07d", k), herald.TypeMarketing, now)
			items = append(items, &store.NewMessage{Message: m})
			ms = append(ms, m)
		}
		if err := st.CreateMessages(b.Context(), items); err != nil {
			b.Fatal(err)
		}
		disp.Accepted(ms)
	}
	queued := time.Since(start)
	runtime.GC()
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	b.Logf("backlog of %d marketing messages stored and queued in %v; heap in use %d MB, RSS %s", backlog,
		queued.Round(time.Millisecond), mem.HeapInuse>>20, rss())

	s0, t0 := sim.Stats(), time.Now()
	var lat []time.Duration
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	i := 0
	b.ResetTimer()
	for b.Loop() {
		<-tick.C
		to := fmt.Sprintf("+1555%07d", i)
		i++
		m := msg(bank.ID, to, herald.TypeOTP, time.Now().UTC())
		if err := st.CreateMessages(b.Context(), []*store.NewMessage{{Message: m}}); err != nil {
			b.Fatal(err)
		}
		accepted := time.Now()
		disp.Accepted([]*herald.Message{m})
		for {
			if at, ok := submitted.Load(strings.TrimPrefix(to, "+")); ok {
				lat = append(lat, at.(time.Time).Sub(accepted))
				break
			}
			time.Sleep(time.Millisecond) // polling the simulator's record, not timing
		}
	}
	b.StopTimer()
	s1, t1 := sim.Stats(), time.Now()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	rate := float64(s1.Submits-s0.Submits) / t1.Sub(t0).Seconds()
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(rate, "carrier-submits/s")
	b.Logf("%d OTPs: accept→submit_sm p50 %v p99 %v max %v; carrier submits %.0f/s meanwhile; marketing left ≈%d",
		len(lat), pct(0.5), pct(0.99), lat[len(lat)-1], rate, backlog-int(s1.Submits)+len(lat))
}

// rss is the process's resident set size from /proc, or "?".
func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
