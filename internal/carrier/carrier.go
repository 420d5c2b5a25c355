// Package carrier runs Herald's links to carriers: a pool of SMPP binds
// per carrier with a rate limit, submission of message parts, and receipt
// handling (parse, correlate, store durably, then acknowledge).
package carrier

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/store"
)

// Config describes one carrier reached over SMPP.
type Config struct {
	Name       string
	Addr       string // host:port
	SystemID   string
	Password   string
	SystemType string
	Role       pdu.Role // default transceiver
	Binds      int      // default 1
	Window     int      // outstanding submits per bind, default 10
	TPS        float64  // submits per second across the binds; 0 = unlimited
	BindTPS    float64  // submits per second on each bind; 0 = no limit of its own
	// ThrottlePause is the first pause after ESME_RTHROTTLED or
	// ESME_RMSGQFUL (default 100ms); it doubles up to MaxThrottlePause
	// (default 5s) while the carrier accepts nothing in between.
	ThrottlePause, MaxThrottlePause time.Duration
	// SourceTON/SourceNPI override the sender's type; automatic (alphanumeric
	// 5/0, international 1/1, short code 3/0) when either is negative or
	// both are zero.
	SourceTON, SourceNPI int
	DestTON, DestNPI     uint8 // default 1/1 (international, E.164)
	// SubmitIDFormat and ReceiptIDFormat say how the carrier writes message
	// ids in submit_sm_resp and in receipts (auto, string, hex, dec).
	SubmitIDFormat, ReceiptIDFormat dlr.IDFormat
	ResponseTimeout                 time.Duration // default 30s
	EnquireLinkInterval             time.Duration // default 30s
	MinBackoff, MaxBackoff          time.Duration // reconnect backoff, default 1s and 60s
	// RerouteOn lists the submit_sm_resp statuses by which this carrier
	// says it has no route for a message (vendor codes, often
	// 0x400-0x4FF): the dispatcher sends such a part to another carrier
	// of its route instead of failing it.
	RerouteOn []pdu.Status
	// OnReceipt, when set, is told the outcome of every final receipt
	// (delivered, undelivered, expired, unknown) and its latency since
	// the submit was accepted (0 when unknown), on a session goroutine:
	// it must not block. Routing health uses it.
	OnReceipt func(to herald.Status, latency time.Duration)
	// Slots, when set, makes the binds cluster-wide (cluster mode): bind
	// i runs only while this node holds slot i of the carrier, so that
	// the nodes together never open more than Binds binds, and the link's
	// rate is TPS × (slots held / Binds), so that they never exceed TPS.
	Slots Slots
}

// Slots grants a node the bind slots of a carrier in a cluster.
type Slots interface {
	// Hold waits until this node holds slot of carrier (or ctx ends). The
	// returned context ends when the node must stop using the slot; the
	// caller then closes its bind and calls release.
	Hold(ctx context.Context, carrier string, slot int) (held context.Context, release func(), err error)
}

// Receipts is where a link stores the receipts it gets, durably, before
// acknowledging them.
type Receipts interface {
	ApplyReceipts(ctx context.Context, rs []store.Receipt) error
}

// Result is the outcome of one submit.
type Result struct {
	CarrierMessageID string
	Keys             []string   // correlation keys of CarrierMessageID
	Status           pdu.Status // command_status of submit_sm_resp
	// Err is a transport failure: errors.Is(Err, smpp.ErrNotSent) means
	// the carrier certainly did not get it; otherwise (unacknowledged,
	// timeout) it may have.
	Err error
	// Recorded, when not nil, is to be called once the outcome is stored
	// (calls after the first do nothing):
	// until then a receipt for Keys waits (at most maxHold) instead of
	// reaching the store before its submit response and being kept there
	// as an orphan.
	Recorded func()
}

// Link is one carrier: its binds, rate limit and receipt handling.
type Link struct {
	cfg     Config
	log     *slog.Logger
	sink    Receipts
	clients []*smpp.Client
	flow    *bucket   // the carrier's rate, adapted to its throttling
	binds   []*bucket // each bind's own rate (nil entries when unlimited)

	receipts receiptQueue
	wake     chan struct{}
	moSink   InboundSink // nil: inbound messages are only counted
	mo       moQueue
	timed    submitTimes // for receipt latency, when OnReceipt is set

	tps  atomic.Uint64 // math.Float64bits of the configured rate across the cluster's binds
	held atomic.Int32  // bind slots held (cluster mode)

	// Counters.
	submitted, receiptsIn, receiptsUnmatched, inbound, throttled atomic.Uint64
}

// New returns a link; Run starts it.
func New(cfg Config, sink Receipts, log *slog.Logger) *Link {
	if cfg.Binds <= 0 {
		cfg.Binds = 1
	}
	if cfg.Window <= 0 {
		cfg.Window = 10
	}
	if cfg.Role == 0 {
		cfg.Role = pdu.Transceiver
	}
	if cfg.DestTON == 0 && cfg.DestNPI == 0 {
		cfg.DestTON, cfg.DestNPI = 1, 1
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Link{cfg: cfg, log: log.With("carrier", cfg.Name), sink: sink, wake: make(chan struct{}, 1)}
	l.flow = newBucket(cfg.TPS, cfg.ThrottlePause, cfg.MaxThrottlePause)
	l.tps.Store(math.Float64bits(cfg.TPS))
	if cfg.Slots != nil && cfg.TPS > 0 {
		l.flow.setRate(cfg.TPS / float64(cfg.Binds)) // until a slot is held: no bind, no submit
	}
	if in, ok := sink.(InboundSink); ok {
		l.moSink, l.mo.wake = in, make(chan struct{}, 1)
	}
	for range cfg.Binds {
		var b *bucket
		if cfg.BindTPS > 0 {
			b = newBucket(cfg.BindTPS, cfg.ThrottlePause, cfg.MaxThrottlePause)
		}
		l.binds = append(l.binds, b)
		l.clients = append(l.clients, &smpp.Client{
			Addr: cfg.Addr,
			Bind: pdu.Bind{Role: cfg.Role, SystemID: cfg.SystemID, Password: cfg.Password, SystemType: cfg.SystemType,
				InterfaceVersion: pdu.InterfaceVersion34},
			Config: smpp.Config{Window: cfg.Window, ResponseTimeout: cfg.ResponseTimeout,
				EnquireLinkInterval: cfg.EnquireLinkInterval, Logger: l.log},
			Handler:    smpp.HandlerFunc(l.serve),
			MinBackoff: cfg.MinBackoff,
			MaxBackoff: cfg.MaxBackoff,
			OnState: func(s *smpp.Session, err error) {
				if err == nil {
					l.log.Info("carrier bound", "addr", cfg.Addr, "system_id", cfg.SystemID)
				}
			},
		})
	}
	return l
}

// Name is the carrier's name.
func (l *Link) Name() string { return l.cfg.Name }

// Run keeps the binds up and stores receipts until ctx ends; then it
// unbinds (letting outstanding submits complete) and returns.
func (l *Link) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i, c := range l.clients {
		if l.cfg.Slots == nil {
			wg.Go(func() { c.Run(ctx) })
			continue
		}
		wg.Go(func() { l.runSlot(ctx, i, c) })
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var rwg sync.WaitGroup
	rwg.Go(func() { l.storeReceipts(rctx) })
	if l.moSink != nil {
		rwg.Go(func() { l.storeMO(rctx) })
	}
	if l.cfg.OnReceipt != nil {
		rwg.Go(func() {
			// Submits whose receipt has not come in six hours are no
			// longer timed.
			t := time.NewTicker(time.Minute)
			defer t.Stop()
			for {
				select {
				case now := <-t.C:
					l.timed.prune(now.Add(-6 * time.Hour))
				case <-rctx.Done():
					return
				}
			}
		})
	}
	<-ctx.Done()
	wg.Wait()
	cancel()
	rwg.Wait()
	return ctx.Err()
}

// runSlot runs bind i while this node holds its slot, until ctx ends.
func (l *Link) runSlot(ctx context.Context, i int, c *smpp.Client) {
	for ctx.Err() == nil {
		held, release, err := l.cfg.Slots.Hold(ctx, l.cfg.Name, i)
		if err != nil {
			return
		}
		l.held.Add(1)
		l.share()
		l.log.Info("bind slot held: binding", "slot", i)
		// The bind ends when the slot is asked back or the link stops,
		// whichever comes first: the node's cluster Manager outlives
		// its links, so that they can give their slots back.
		bound, unbind := context.WithCancel(held)
		stopUnbind := context.AfterFunc(ctx, unbind)
		c.Run(bound) // returns once unbound (or the connection is gone)
		stopUnbind()
		unbind()
		l.held.Add(-1)
		l.share()
		release()
		if ctx.Err() == nil {
			l.log.Info("bind slot given up: unbound", "slot", i)
		}
	}
}

// share sets the link's rate to its share of the carrier's: TPS ×
// held / Binds in cluster mode (unchanged while no slot is held: no
// bind, no submit).
func (l *Link) share() {
	tps := math.Float64frombits(l.tps.Load())
	if l.cfg.Slots == nil || tps == 0 {
		l.flow.setRate(tps)
		return
	}
	if n := l.held.Load(); n > 0 {
		l.flow.setShare(clusterRate(tps*float64(n)/float64(len(l.clients))), time.Now())
	}
}

// clusterMargin is the share of a carrier's TPS a cluster leaves unused:
// each node paces its own submits, but the carrier counts them as they
// arrive, and the nodes' scheduling delays (a starved process, a full
// socket buffer) bunch them; 10 % absorbs delays of 100 ms a second. (5 %
// was seen to fall short on a loaded 2-core machine: 507 and 529 submits
// counted in one second against 500.)
const clusterMargin = 0.10

// clusterRate is the bucket rate of a node whose share of a carrier's
// rate is share: a bucket lets rate + its burst through in a second, and
// the nodes' bursts add up, so in cluster mode each node's rate leaves
// room for its burst (and clusterMargin) and no second of the cluster's
// traffic exceeds the carrier's TPS.
func clusterRate(share float64) float64 {
	share *= 1 - clusterMargin
	r := share / (1 + burstShare)
	if r*burstShare < 1 { // the burst is at least one submit
		r = share - 1
	}
	return max(r, share/2)
}

// Submit sends one part. It waits for the carrier's rate (paused after
// a throttle), the bind's rate, a bound session and a window slot (or
// ctx); once it returns nil, done is called exactly once with the
// outcome, from a session goroutine (it must not block). Every part of a
// message goes through the same bind while that bind is up, so a caller
// that submits them in order has them written in order.
func (l *Link) Submit(ctx context.Context, m *herald.Message, p *herald.Part, done func(Result)) error {
	if err := l.flow.wait(ctx); err != nil {
		return err
	}
	req := l.submitSM(m, p)
	for {
		i, s, err := l.session(ctx, m.ID)
		if err != nil {
			return err
		}
		if b := l.binds[i]; b != nil {
			if err := b.wait(ctx); err != nil {
				return err
			}
		}
		err = s.Go(ctx, req, func(r smpp.Response) {
			res := l.result(r)
			l.observe(i, res)
			if res.Err == nil && len(res.Keys) > 0 {
				keys := res.Keys
				l.receipts.awaiting(keys)
				var once sync.Once
				res.Recorded = func() { once.Do(func() { l.recorded(keys) }) }
			}
			done(res)
		})
		if errors.Is(err, smpp.ErrClosed) {
			continue // the bind ended meanwhile: pick again
		}
		if err == nil {
			l.submitted.Add(1)
		}
		return err
	}
}

// bindWait is how long Submit waits for the bind it picked before it
// picks again.
const bindWait = 500 * time.Millisecond

// session returns a bound session for a message: its own bind (pick)
// while that is up, else another bound one. When none is up it waits for
// the one pick named, but only bindWait at a time: in a cluster that bind
// may be a slot this node has handed back and will never bind again
// while another of its slots comes up.
func (l *Link) session(ctx context.Context, id string) (int, *smpp.Session, error) {
	for {
		i := l.pick(id)
		if l.clients[i].Bound() {
			// The common case: no timer on the submit path.
			if s, err := l.clients[i].Session(ctx); err == nil || ctx.Err() != nil {
				return i, s, err
			}
		}
		wctx, cancel := context.WithTimeout(ctx, bindWait)
		s, err := l.clients[i].Session(wctx)
		cancel()
		if err == nil {
			return i, s, nil
		}
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
	}
}

// IsThrottle reports whether a submit status asks the sender to slow
// down: ESME_RTHROTTLED or ESME_RMSGQFUL. Such a refusal says nothing
// about the message; it is sent again, in order, once the link resumes.
func IsThrottle(s pdu.Status) bool { return s == pdu.StatusThrottled || s == pdu.StatusMsgQFul }

// observe adapts the link's rate to a submit's outcome.
func (l *Link) observe(bind int, r Result) {
	if r.Err != nil {
		return
	}
	now := time.Now()
	switch {
	case IsThrottle(r.Status):
		l.throttled.Add(1)
		if l.flow.throttled(now) {
			l.log.Info("carrier throttling: link paused", "status", r.Status.String(), "bind", bind,
				"effective_tps", l.flow.stats(now).EffectiveTPS)
		}
		if b := l.binds[bind]; b != nil {
			b.throttled(now)
		}
	case r.Status == pdu.StatusOK:
		l.flow.accepted(now)
		if b := l.binds[bind]; b != nil {
			b.accepted(now)
		}
	}
}

// pick returns the bind for a message: the same one for all its parts
// while it stays up (chosen by the message id), else the next bound one
// after it; when none is bound, its own (Go then waits for it to bind).
func (l *Link) pick(id string) int {
	n := len(l.clients)
	h := fnv.New32a()
	h.Write([]byte(id))
	start := int(h.Sum32() % uint32(n))
	for i := range n {
		if k := (start + i) % n; l.clients[k].Bound() {
			return k
		}
	}
	return start
}

// BindStats describes one bind of a link.
type BindStats struct {
	Up          bool `json:"up"`
	Outstanding int  `json:"outstanding"` // submits waiting for their response: the window in use
	Window      int  `json:"window"`
}

// Binds describes the link's binds.
func (l *Link) Binds() []BindStats {
	done, cancel := context.WithCancel(context.Background())
	cancel() // Session returns at once: the current session or an error
	out := make([]BindStats, len(l.clients))
	for i, c := range l.clients {
		out[i].Window = l.cfg.Window
		if s, err := c.Session(done); err == nil {
			out[i].Up = true
			out[i].Outstanding = s.Stats().Outstanding
		}
	}
	return out
}

// Reroutes reports whether a submit status means "no route here, try
// another carrier" for this carrier (Config.RerouteOn).
func (l *Link) Reroutes(s pdu.Status) bool {
	for _, r := range l.cfg.RerouteOn {
		if r == s {
			return true
		}
	}
	return false
}

// SetTPS changes the carrier's configured rate (0 unlimited) without
// touching its binds.
func (l *Link) SetTPS(tps float64) {
	l.tps.Store(math.Float64bits(tps))
	l.share()
}

// Flow returns the state of the link's rate control.
func (l *Link) Flow() FlowStats { return l.flow.stats(time.Now()) }

// Up reports whether at least one bind is up.
func (l *Link) Up() bool {
	for _, c := range l.clients {
		if c.Bound() {
			return true
		}
	}
	return false
}

// BatchSize is how many parts the dispatcher should mark sending at once
// for this link: about 25 ms of its effective rate, so that urgent parts
// never wait behind a long batch.
func (l *Link) BatchSize() int {
	st := l.flow.stats(time.Now())
	if st.TPS == 0 {
		return 512
	}
	return max(1, int(st.EffectiveTPS/40))
}

func (l *Link) result(r smpp.Response) Result {
	if r.Err != nil {
		return Result{Err: r.Err}
	}
	res := Result{Status: r.Status()}
	if resp, ok := r.Body.(*pdu.SubmitSMResp); ok && r.Status() == pdu.StatusOK {
		res.CarrierMessageID = resp.MessageID
		keys, err := dlr.Keys(resp.MessageID, l.cfg.SubmitIDFormat)
		if err != nil || len(keys) == 0 {
			keys = []string{strings.TrimSpace(resp.MessageID)}
		}
		res.Keys = keys
		if l.cfg.OnReceipt != nil {
			l.timed.add(keys[0], time.Now())
		}
	}
	return res
}

// submitSM builds the submit_sm for a part.
func (l *Link) submitSM(m *herald.Message, p *herald.Part) *pdu.SubmitSM {
	ton, npi := senderType(m.From)
	if l.cfg.SourceTON >= 0 && l.cfg.SourceNPI >= 0 && (l.cfg.SourceTON != 0 || l.cfg.SourceNPI != 0) {
		ton, npi = uint8(l.cfg.SourceTON), uint8(l.cfg.SourceNPI)
	}
	sm := &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{
		Source:             pdu.Address{TON: ton, NPI: npi, Addr: strings.TrimPrefix(m.From, "+")},
		Dest:               pdu.Address{TON: l.cfg.DestTON, NPI: l.cfg.DestNPI, Addr: strings.TrimPrefix(m.To, "+")},
		ESMClass:           p.ESMClass,
		RegisteredDelivery: pdu.RegisteredDeliveryFinal,
		DataCoding:         p.DataCoding,
	}}
	if m.Type == herald.TypeOTP {
		sm.PriorityFlag = 1
	}
	if !m.ValidUntil.IsZero() {
		sm.ValidityPeriod = relativeValidity(time.Until(m.ValidUntil))
	}
	if p.Payload {
		sm.TLVs.Set(pdu.TagMessagePayload, p.ShortMessage)
	} else {
		sm.Message = p.ShortMessage
	}
	if p.SARTotal > 1 {
		sm.TLVs.SetUint16(pdu.TagSarMsgRefNum, p.SARRef)
		sm.TLVs.SetUint8(pdu.TagSarTotalSegments, p.SARTotal)
		sm.TLVs.SetUint8(pdu.TagSarSegmentSeqnum, p.SARSeq)
	}
	return sm
}

// senderType returns the TON/NPI for a sender: alphanumeric 5/0,
// international (+ and more than 8 digits) 1/1, short code 3/0, other
// numbers unknown 0/1.
func senderType(from string) (uint8, uint8) {
	digits := strings.TrimPrefix(from, "+")
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 5, 0
		}
	}
	switch {
	case strings.HasPrefix(from, "+"):
		return 1, 1
	case len(digits) <= 8:
		return 3, 0
	}
	return 0, 1
}

// relativeValidity renders a duration as an SMPP relative time
// "YYMMDDhhmmss000R", at least one minute.
func relativeValidity(d time.Duration) string {
	if d < time.Minute {
		d = time.Minute
	}
	s := int(d / time.Second)
	days := s / 86400
	s %= 86400
	return fmt.Sprintf("0000%02d%02d%02d%02d000R", min(days, 99), s/3600, s%3600/60, s%60)
}

// Stats are the link's counters.
type Stats struct {
	Bound             int
	Submitted         uint64
	Receipts          uint64
	ReceiptsUnmatched uint64
	Inbound           uint64
	Throttled         uint64 // submits answered ESME_RTHROTTLED or ESME_RMSGQFUL
	Flow              FlowStats
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	st := Stats{Submitted: l.submitted.Load(), Receipts: l.receiptsIn.Load(),
		ReceiptsUnmatched: l.receiptsUnmatched.Load(), Inbound: l.inbound.Load(), Throttled: l.throttled.Load(),
		Flow: l.Flow()}
	for _, c := range l.clients {
		if c.Bound() {
			st.Bound++
		}
	}
	return st
}

// IsNotSent reports whether a Result's error means the carrier certainly
// did not receive the submit.
func IsNotSent(err error) bool { return errors.Is(err, smpp.ErrNotSent) }
