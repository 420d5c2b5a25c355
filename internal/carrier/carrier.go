// Package carrier runs Herald's links to carriers: a pool of SMPP binds
// per carrier with a rate limit, submission of message parts, and receipt
// handling (parse, correlate, store durably, then acknowledge).
package carrier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
}

// Link is one carrier: its binds, rate limit and receipt handling.
type Link struct {
	cfg     Config
	log     *slog.Logger
	sink    Receipts
	clients []*smpp.Client
	limit   *limiter
	rr      atomic.Uint32

	receipts receiptQueue
	wake     chan struct{}
	moSink   InboundSink // nil: inbound messages are only counted
	mo       moQueue

	// Counters.
	submitted, receiptsIn, receiptsUnmatched, inbound atomic.Uint64
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
	l.limit = newLimiter(cfg.TPS)
	if in, ok := sink.(InboundSink); ok {
		l.moSink, l.mo.wake = in, make(chan struct{}, 1)
	}
	for range cfg.Binds {
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
	for _, c := range l.clients {
		wg.Go(func() { c.Run(ctx) })
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var rwg sync.WaitGroup
	rwg.Go(func() { l.storeReceipts(rctx) })
	if l.moSink != nil {
		rwg.Go(func() { l.storeMO(rctx) })
	}
	<-ctx.Done()
	wg.Wait()
	cancel()
	rwg.Wait()
	return ctx.Err()
}

// Submit sends one part. It waits for the rate limit, a bound session and
// a window slot (or ctx); once it returns nil, done is called exactly once
// with the outcome, from a session goroutine (it must not block).
func (l *Link) Submit(ctx context.Context, m *herald.Message, p *herald.Part, done func(Result)) error {
	if err := l.limit.wait(ctx); err != nil {
		return err
	}
	req := l.submitSM(m, p)
	c := l.pick()
	err := c.Go(ctx, req, func(r smpp.Response) { done(l.result(r)) })
	if err == nil {
		l.submitted.Add(1)
	}
	return err
}

// pick returns the next bound client, round robin, or the next one in
// turn when none is bound (Go then waits for it to bind).
func (l *Link) pick() *smpp.Client {
	n := len(l.clients)
	start := int(l.rr.Add(1))
	for i := range n {
		c := l.clients[(start+i)%n]
		if c.Bound() {
			return c
		}
	}
	return l.clients[start%n]
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
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	st := Stats{Submitted: l.submitted.Load(), Receipts: l.receiptsIn.Load(),
		ReceiptsUnmatched: l.receiptsUnmatched.Load(), Inbound: l.inbound.Load()}
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
