package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/smscsim"
)

// SMSCSim is the smsc-sim subcommand: ParseFlags, then Open, Wait and
// Close. Tests drive it the same way with their own flags.
type SMSCSim struct {
	Options         smscsim.Options
	Quiet           bool          // no per-second lines, warnings only in the log
	ShutdownTimeout time.Duration // bound on the graceful shutdown

	Stdout io.Writer
	Stderr io.Writer

	// Sim is the running simulator, set by Open.
	Sim *smscsim.Simulator

	started time.Time
	active  time.Duration // seconds with traffic, counted by Wait
}

// NewSMSCSim returns the smsc-sim subcommand with its defaults, writing
// to m's streams.
func (m *Main) NewSMSCSim() *SMSCSim {
	return &SMSCSim{
		Options: smscsim.Options{
			Addr:     "127.0.0.1:2775",
			HTTPAddr: "127.0.0.1:2776",
		},
		ShutdownTimeout: 10 * time.Second,
		Stdout:          m.Stdout,
		Stderr:          m.Stderr,
	}
}

func (m *Main) runSMSCSim(ctx context.Context, args []string) error {
	c := m.NewSMSCSim()
	if err := c.ParseFlags(args); err != nil {
		return err
	}
	if err := c.Open(ctx); err != nil {
		return err
	}
	c.Wait(ctx)
	return c.Close()
}

// ParseFlags reads the command line into c.Options. A bad value is
// reported with the usage on Stderr and returns errUsage.
func (c *SMSCSim) ParseFlags(args []string) error {
	m := &Main{Stdout: c.Stdout, Stderr: c.Stderr}
	fs := m.flagSet("smsc-sim", "[flags]")
	o := &c.Options
	fs.StringVar(&o.Addr, "listen", o.Addr, "SMPP listen `address` (port 0: any free port)")
	fs.StringVar(&o.HTTPAddr, "http", o.HTTPAddr, "HTTP `address` for GET /stats, POST /stats/reset-peaks and POST /mo (empty: none)")
	fs.StringVar(&o.SystemID, "system-id", "", "system_id every bind must give (empty: any)")
	fs.StringVar(&o.Password, "password", "", "password every bind must give (empty: any)")
	receiptDelay := fs.String("receipt-delay", "0s", "delay from submit_sm_resp to receipt: `duration` or range (1s-5s)")
	responseDelay := fs.String("response-delay", "0s", "delay before each submit_sm_resp: `duration` or range")
	fs.Func("error", "refuse a fraction of submits with a status, `STATUS:FRACTION` (0x58:0.01, ESME_RMSGQFUL:0.005); repeatable", func(s string) error {
		e, err := smscsim.ParseErrorRate(s)
		if err != nil {
			return err
		}
		o.Errors = append(o.Errors, e)
		return nil
	})
	fs.Float64Var(&o.Undeliv, "undeliv", 0, "`fraction` of receipts that say UNDELIV")
	fs.Float64Var(&o.MaxRate, "max-rate", 0, "accept at most `N` submits per second; answer the rest ESME_RTHROTTLED (0: no cap)")
	fs.Float64Var(&o.Expired, "expired", 0, "`fraction` of receipts that say EXPIRED")
	idFormat := fs.String("id-format", "hex", "message ids in submit_sm_resp: hex or dec")
	receiptIDFormat := fs.String("receipt-id-format", "same", "message ids in receipts: same, hex or dec")
	fs.IntVar(&o.SMPP.InboundWindow, "window", 1000, "requests one bind may have unanswered; beyond it ESME_RTHROTTLED")
	fs.IntVar(&o.SMPP.Window, "receipt-window", smscsim.DefaultReceiptWindow, "deliver_sm in flight per receiver bind")
	fs.DurationVar(&o.RetryDelay, "retry-delay", smscsim.DefaultRetryDelay, "wait before resending a receipt the ESME refused or did not answer")
	fs.IntVar(&o.MaxPendingReceipts, "max-pending", smscsim.DefaultMaxPendingReceipts, "receipts held in memory at most; beyond it they are dropped and counted")
	fs.Uint64Var(&o.Seed, "seed", 0, "seed of the random draws, for reproducible runs (0: random)")
	fs.BoolVar(&c.Quiet, "quiet", false, "no per-second throughput lines; log warnings only")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if o.ReceiptDelay, err = smscsim.ParseDelay(*receiptDelay); err != nil {
		return usageErrorf(fs, "--receipt-delay: %v", err)
	}
	if o.ResponseDelay, err = smscsim.ParseDelay(*responseDelay); err != nil {
		return usageErrorf(fs, "--response-delay: %v", err)
	}
	if o.IDFormat, err = smscsim.ParseIDFormat(*idFormat); err != nil || *idFormat == "same" {
		return usageErrorf(fs, "--id-format: want hex or dec, not %q", *idFormat)
	}
	if o.ReceiptIDFormat, err = smscsim.ParseIDFormat(*receiptIDFormat); err != nil {
		return usageErrorf(fs, "--receipt-id-format: %v", err)
	}
	return nil
}

// Open starts the simulator.
func (c *SMSCSim) Open(ctx context.Context) error {
	level := slog.LevelInfo
	if c.Quiet {
		level = slog.LevelWarn
	}
	c.Options.Logger = slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: level}))
	sim, err := smscsim.New(c.Options)
	if err != nil {
		return err
	}
	if err := sim.Start(ctx); err != nil {
		return err
	}
	c.Sim = sim
	c.started = time.Now()
	fmt.Fprintf(c.Stdout, "smsc-sim: smpp on %s", sim.Addr())
	if a := sim.HTTPAddr(); a != "" {
		fmt.Fprintf(c.Stdout, ", http on %s (GET /stats, POST /stats/reset-peaks, POST /mo)", a)
	}
	fmt.Fprintln(c.Stdout)
	return nil
}

// Wait prints a throughput line every second in which there was traffic
// (unless Quiet) until ctx ends.
func (c *SMSCSim) Wait(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev, prevAt := c.Sim.Stats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			cur := c.Sim.Stats()
			submits := cur.Submits - prev.Submits
			receipts := cur.ReceiptsSent - prev.ReceiptsSent
			mo := cur.MOParts - prev.MOParts
			if submits+receipts+mo > 0 {
				elapsed := now.Sub(prevAt)
				c.active += elapsed
				if !c.Quiet {
					secs := elapsed.Seconds()
					fmt.Fprintf(c.Stdout, "%s submits/s=%.0f receipts/s=%.0f mo/s=%.0f sessions=%d pending_receipts=%d max_sessions=%d max_submits_per_second=%d\n",
						now.Format("15:04:05"), float64(submits)/secs, float64(receipts)/secs, float64(mo)/secs,
						cur.Sessions, cur.ReceiptsPending, cur.MaxSessions, cur.MaxSubmitsPerSecond)
				}
			}
			prev, prevAt = cur, now
		}
	}
}

// Close shuts the simulator down gracefully (within ShutdownTimeout)
// and prints the summary.
func (c *SMSCSim) Close() error {
	if c.Sim == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	err := c.Sim.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("graceful shutdown took over %v; closed the rest", c.ShutdownTimeout)
	}
	c.printSummary(c.Sim.Stats(), time.Since(c.started))
	return err
}

func (c *SMSCSim) printSummary(st smscsim.Stats, ran time.Duration) {
	w := c.Stdout
	fmt.Fprintf(w, "smsc-sim: ran %v\n", ran.Round(time.Millisecond))
	fmt.Fprintf(w, "  binds     %d accepted, %d refused, at most %d at once\n", st.Binds, st.BindsRefused, st.MaxSessions)
	avg := "no traffic"
	if st.Submits > 0 {
		active := max(c.active, time.Second) // traffic shorter than one report still took time
		avg = fmt.Sprintf("avg %.0f/s over %v with traffic", float64(st.Submits)/active.Seconds(), active.Round(time.Second))
	}
	fmt.Fprintf(w, "  submits   %d (%d parts of concatenated messages, %d messages), %s, at most %d in one second\n",
		st.Submits, st.SubmitParts, st.Messages, avg, st.MaxSubmitsPerSecond)
	var resp []string
	for _, k := range slices.Sorted(maps.Keys(st.Responses)) {
		resp = append(resp, fmt.Sprintf("%s=%d", k, st.Responses[k]))
	}
	if st.WindowThrottled > 0 {
		resp = append(resp, fmt.Sprintf("window_throttled=%d", st.WindowThrottled))
	}
	fmt.Fprintf(w, "  responses %s\n", strings.Join(resp, " "))
	fmt.Fprintf(w, "  receipts  %d queued, %d sent, %d acked, %d failed, %d retried, %d dropped, %d pending\n",
		st.ReceiptsQueued, st.ReceiptsSent, st.ReceiptsAcked, st.ReceiptsFailed, st.ReceiptsRetried, st.ReceiptsDropped, st.ReceiptsPending)
	fmt.Fprintf(w, "  mo        %d sent (%d parts), %d failed\n", st.MOSent, st.MOParts, st.MOFailed)
}
