package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/inbound"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/store"
)

// TwoWayConfig configures inbound messages and the compliance keywords
// (docs/two-way.md).
type TwoWayConfig struct {
	// ReassemblyTimeout is how long the parts of a concatenated inbound
	// message wait for the missing ones. Default 60s.
	ReassemblyTimeout Duration `json:"reassembly_timeout"`
	// Keywords are the STOP/START/HELP words and replies, by language and
	// by sender (defaults: the CTIA-style English set).
	Keywords inbound.Keywords `json:"keywords"`
}

func (c *TwoWayConfig) validate() error {
	if c.ReassemblyTimeout < 0 {
		return fmt.Errorf("config: two_way.reassembly_timeout: must not be negative")
	}
	return nil
}

// sendReply submits an application's webhook answer through the intake,
// idempotently per inbound message, so the usual rules (sender
// ownership, opt-outs) apply.
func sendReply(ctx context.Context, in *intake.Service, r inbound.Reply, key string) error {
	sum := sha256.Sum256([]byte(r.Body))
	res, err := in.Submit(ctx, r.AccountID, []intake.Request{{To: r.To, From: r.From, Body: r.Body,
		Type: herald.TypeTransactional, Compliance: r.Compliance}}, intake.Idempotency{Key: key, Hash: sum[:]}, false)
	if err != nil {
		return err
	}
	return res[0].Err
}

// webhookReply sends an application's {"reply":"…"} to a
// message.received delivery back to the person, from the sender the
// person wrote to.
func webhookReply(in *intake.Service, log *slog.Logger) func(context.Context, *herald.Delivery, string) {
	return func(ctx context.Context, d *herald.Delivery, reply string) {
		var ev struct {
			Data herald.InboundView `json:"data"`
		}
		if err := json.Unmarshal(d.Payload, &ev); err != nil || ev.Data.ID == "" {
			return
		}
		r := inbound.Reply{AccountID: d.AccountID, From: ev.Data.To, To: ev.Data.From, Body: reply, InboundID: ev.Data.ID}
		if err := sendReply(ctx, in, r, "reply-"+ev.Data.ID); err != nil {
			log.Warn("webhook reply not sent", "inbound_id", ev.Data.ID, "err", err)
		}
	}
}

// newInbound builds the inbound service over the store.
// Inbound GSM 7-bit text is read packed from the carriers configured
// with "packed" (as they send it).
// Keyword replies are built by the intake and stored with the inbound
// message; accepted hands them to the dispatcher.
func newInbound(cfg Config, st inbound.Store, in *intake.Service, accepted func([]*herald.Message), received func([]*herald.InboundMessage), log *slog.Logger) *inbound.Service {
	parse := map[string]inbound.ParseOptions{}
	for _, cc := range cfg.Carriers {
		parse[cc.Name] = inbound.ParseOptions{Packed: cc.Packed}
	}
	return inbound.New(inbound.Options{
		Store: st, Keywords: cfg.TwoWay.Keywords, Timeout: time.Duration(cfg.TwoWay.ReassemblyTimeout), Parse: parse,
		Prepare: func(ctx context.Context, r inbound.Reply) (*herald.Message, error) {
			stored, _, err := in.Prepare(ctx, r.AccountID, intake.Request{To: r.To, From: r.From, Body: r.Body,
				Type: herald.TypeTransactional, Compliance: r.Compliance})
			return stored, err
		},
		Accepted: accepted,
		Received: received,
		Logger:   log,
	})
}

// ReceiveMO implements carrier.InboundSink.
func (r *receiptSink) ReceiveMO(ctx context.Context, carrier string, ds []*pdu.DeliverSM) error {
	if r.mo == nil {
		return fmt.Errorf("inbound messages are not set up yet")
	}
	return r.mo.Receive(ctx, carrier, ds)
}

var _ inbound.Store = store.Store(nil)
