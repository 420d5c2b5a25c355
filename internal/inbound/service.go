package inbound

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/store"
)

// Store is what the service needs of the store.
type Store interface {
	AddInboundParts(ctx context.Context, parts []*store.InboundPart) ([][]*store.InboundPart, error)
	StaleInboundParts(ctx context.Context, before time.Time, limit int) ([][]*store.InboundPart, error)
	ReceiveInbound(ctx context.Context, ms []*store.NewInbound) error
	SenderByAddress(ctx context.Context, address string) (*herald.Sender, error)
	Policy(ctx context.Context, accountID string) (*herald.Policy, error)
}

// Reply is a message the service sends back to a person: a keyword's
// confirmation or help text.
type Reply struct {
	AccountID string
	From      string // the sender the person wrote to
	To        string // the person
	Body      string
	InboundID string // the message it answers
	// Compliance: a STOP/START confirmation or HELP text, which is sent
	// even to a number that opted out (once, as the rules require).
	Compliance bool
}

// Options configure a Service.
type Options struct {
	Store    Store
	Keywords Keywords
	// Timeout is how long the parts of a concatenated message wait for
	// the missing ones; then the message is stored with what arrived,
	// marked incomplete. Default 60s.
	Timeout time.Duration
	// Parse says how carriers write user data, by carrier name.
	Parse map[string]ParseOptions
	// Prepare builds a keyword reply through the intake (so the normal
	// rules apply) without storing it: it is stored in the same commit as
	// the inbound message that asks for it, and only if that message
	// changed the person's consent (or asked for help). Nil: no replies.
	Prepare func(ctx context.Context, r Reply) (*herald.Message, error)
	// Accepted is told about the replies stored (the dispatcher's intake).
	Accepted func([]*herald.Message)
	// Received is told about inbound messages after they are durable:
	// the webhook worker's wake-up, and the hook for an SMPP server that
	// delivers them to the account's client binds (each message carries
	// its AccountID).
	Received func([]*herald.InboundMessage)
	Now      func() time.Time
	Logger   *slog.Logger
}

// Service stores inbound messages. Receive and Sweep are safe for
// concurrent use.
type Service struct {
	o Options
}

// New returns a service; Run sweeps timed-out parts.
func New(o Options) *Service {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{o: o}
}

// Receive stores mobile-originated deliver_sm from one carrier. It
// returns nil once every part (and every message it completed) is
// durable, so the caller may acknowledge them; an error means the caller
// should ask the carrier to retry. Keyword replies are stored in the same
// commit as the message that asked for them.
func (s *Service) Receive(ctx context.Context, carrier string, ds []*pdu.DeliverSM) error {
	now := s.o.Now().UTC()
	var multi []*store.InboundPart
	var groups [][]*store.InboundPart
	for _, d := range ds {
		p := Parse(carrier, d, now, s.o.Parse[carrier])
		if p.Total > 1 {
			multi = append(multi, p)
		} else {
			groups = append(groups, []*store.InboundPart{p})
		}
	}
	singles := len(groups)
	if len(multi) > 0 {
		complete, err := s.o.Store.AddInboundParts(ctx, multi)
		if err != nil {
			return err
		}
		groups = append(groups, complete...)
	}
	if len(groups) == 0 {
		return nil
	}
	items := s.build(ctx, groups, now)
	if err := s.o.Store.ReceiveInbound(ctx, items); err != nil {
		if singles > 0 {
			return err
		}
		// Every part is durable: the sweep assembles them later.
		s.o.Logger.Warn("storing completed inbound messages failed; the sweep retries", "messages", len(items), "err", err)
		return nil
	}
	s.after(items)
	return nil
}

// Sweep stores the messages whose parts have waited longer than the
// timeout, with the parts that arrived (marked incomplete when some are
// missing). It returns how many messages it stored.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.o.Now().UTC()
	n := 0
	for {
		groups, err := s.o.Store.StaleInboundParts(ctx, now.Add(-s.o.Timeout), 100)
		if err != nil || len(groups) == 0 {
			return n, err
		}
		items := s.build(ctx, groups, now)
		if err := s.o.Store.ReceiveInbound(ctx, items); err != nil {
			return n, err
		}
		s.after(items)
		n += len(items)
		if len(groups) < 100 {
			return n, nil
		}
	}
}

// Run sweeps timed-out parts every quarter of the timeout (at least every
// second, at most every 15 seconds) until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	every := min(max(s.o.Timeout/4, time.Second), 15*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.Warn("inbound sweep failed", "err", err)
		} else if n > 0 {
			s.o.Logger.Info("stored timed-out inbound messages", "messages", n)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// build assembles each group into a message, routes it to its account and
// applies the keywords.
func (s *Service) build(ctx context.Context, groups [][]*store.InboundPart, now time.Time) []*store.NewInbound {
	items := make([]*store.NewInbound, 0, len(groups))
	for _, ps := range groups {
		first := ps[0]
		body, enc := Assemble(ps)
		m := &herald.InboundMessage{ID: herald.NewID("inb", now.UnixMilli()), From: first.From, To: first.To,
			Body: body, Encoding: enc, Carrier: first.Carrier, PartCount: first.Total, Received: len(ps),
			Incomplete: len(ps) < first.Total, ReceivedAt: now}
		it := &store.NewInbound{Message: m}
		if first.Total > 1 {
			g := first.Group()
			it.Group = &g
		}
		items = append(items, it)
		snd := s.owner(ctx, first.To)
		if snd == nil {
			s.o.Logger.Warn("inbound message to a sender no account owns", "to", first.To, "carrier", first.Carrier)
			continue
		}
		m.AccountID, m.To = snd.AccountID, snd.Address
		if enc == "binary" || strings.HasPrefix(enc, "data_coding") {
			continue
		}
		kw := s.o.Keywords.set(snd.Address, snd.Language)
		action, word := kw.Match(body)
		m.Keyword = string(action)
		if action != ActionNone {
			it.Reply = s.reply(ctx, m, kw.Reply(action))
		}
		if action != ActionStop && action != ActionStart {
			continue
		}
		sender := snd.Address
		if p, err := s.o.Store.Policy(ctx, snd.AccountID); err == nil && p.OptOutScope == herald.ScopeAccount {
			sender = ""
		}
		c := &herald.ConsentEntry{AccountID: snd.AccountID, Number: m.From, Sender: sender, Action: herald.ConsentOptOut,
			At: now, Source: "keyword", Keyword: word, InboundID: m.ID}
		if action == ActionStart {
			c.Action = herald.ConsentOptIn
		}
		it.Consent = c
	}
	return items
}

// owner finds the sender an inbound message was sent to: as given, then
// with or without a leading "+".
func (s *Service) owner(ctx context.Context, to string) *herald.Sender {
	cands := []string{to}
	if d, ok := strings.CutPrefix(to, "+"); ok {
		cands = append(cands, d)
	} else if len(to) > 8 {
		cands = append(cands, "+"+to)
	}
	for _, a := range cands {
		if snd, err := s.o.Store.SenderByAddress(ctx, a); err == nil {
			return snd
		}
	}
	return nil
}

// reply prepares the keyword reply to m, or returns nil.
func (s *Service) reply(ctx context.Context, m *herald.InboundMessage, text string) *store.NewMessage {
	if text == "" || s.o.Prepare == nil {
		return nil
	}
	r := Reply{AccountID: m.AccountID, From: m.To, To: m.From, Body: text, InboundID: m.ID, Compliance: true}
	out, err := s.o.Prepare(ctx, r)
	if err != nil {
		s.o.Logger.Warn("keyword reply refused", "inbound_id", m.ID, "keyword", m.Keyword, "err", err)
		return nil
	}
	return &store.NewMessage{Message: out}
}

// after hands the stored replies to the dispatcher and tells Received
// about the messages that were stored.
func (s *Service) after(items []*store.NewInbound) {
	var stored []*herald.InboundMessage
	var replies []*herald.Message
	for _, it := range items {
		if it.Skipped {
			continue
		}
		stored = append(stored, it.Message)
		if it.Replied {
			replies = append(replies, it.Reply.Message)
		} else if it.Reply != nil && it.Reply.Err != nil {
			s.o.Logger.Warn("keyword reply not stored", "inbound_id", it.Message.ID, "err", it.Reply.Err)
		}
	}
	if len(replies) > 0 && s.o.Accepted != nil {
		s.o.Accepted(replies)
	}
	if len(stored) > 0 && s.o.Received != nil {
		s.o.Received(stored)
	}
}
