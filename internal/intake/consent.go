package intake

import (
	"context"

	"github.com/herald-sms/herald/internal/herald"
)

// Consent is what the intake asks before accepting a message. The store
// implements it.
type Consent interface {
	// Policy returns the account's policy (defaults when it set none).
	Policy(ctx context.Context, accountID string) (*herald.Policy, error)
	// SenderByAddress returns the owner of a sender address.
	SenderByAddress(ctx context.Context, address string) (*herald.Sender, error)
	// Senders lists the account's senders.
	Senders(ctx context.Context, accountID string) ([]*herald.Sender, error)
	// OptedOut reports whether number opted out of the account's messages
	// from sender.
	OptedOut(ctx context.Context, accountID, number, sender string) (bool, error)
}

// policies caches the account's policy, and the last sender's owner,
// for one Submit (a batch's messages usually share their sender).
type policies struct {
	p      *herald.Policy
	any    bool // the account may use senders nobody registered
	from   string
	sender *herald.Sender // from's owner, nil when nobody registered it
	looked bool           // from and sender are set
}

// checkConsent refuses a message from a sender the account may not use
// (sender_not_owned) and one to a recipient who opted out
// (recipient_opted_out).
//
// Senders: the platform's default sender is every account's; a sender
// another account registered is never usable; a sender nobody registered
// is usable while the account has registered none (the first-minute
// experience) or when its policy allows any sender. So an account that
// registers its senders is held to them.
//
// Opt-outs: a compliance reply (a STOP confirmation, HELP text) goes even
// to a number that opted out, and so do the message types the account
// exempted in its policy (the exemption is in the consent ledger).
func (s *Service) checkConsent(ctx context.Context, accountID string, m *herald.Message, r *Request, pc *policies) error {
	c := s.o.Consent
	if c == nil {
		return nil
	}
	if pc.p == nil {
		p, err := c.Policy(ctx, accountID)
		if err != nil {
			return err
		}
		pc.p, pc.any = p, p.AllowAnySender
		if !pc.any {
			own, err := c.Senders(ctx, accountID)
			if err != nil {
				return err
			}
			pc.any = len(own) == 0
		}
	}
	if m.From != s.o.DefaultFrom {
		if !pc.looked || pc.from != m.From {
			snd, err := c.SenderByAddress(ctx, m.From)
			if err != nil && herald.ErrorKind(err) != herald.KindNotFound {
				return err
			}
			pc.from, pc.sender, pc.looked = m.From, snd, true
		}
		snd := pc.sender
		if (snd != nil && snd.AccountID != accountID) || (snd == nil && !pc.any) {
			return &herald.Error{Kind: herald.KindForbidden, Code: "sender_not_owned", Field: "from",
				Message: "this sender is registered by another account, or this account registered its senders (POST /v1/senders) and this is not one of them"}
		}
	}
	if r.Compliance || pc.p.Exempts(m.Type) {
		return nil
	}
	out, err := c.OptedOut(ctx, accountID, m.To, m.From)
	if err != nil {
		return err
	}
	if out {
		return &herald.Error{Kind: herald.KindOptedOut, Code: "recipient_opted_out", Field: "to",
			Message: "the recipient opted out of this account's messages (from this sender or from all)"}
	}
	return nil
}
