// Package intake validates what clients ask to send, analyses and splits
// the text, and stores the messages durably. It is shared by every way in:
// the REST API now, the SMPP server and the Twilio-compatible API later.
package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/phone"
	"github.com/herald-sms/herald/internal/smstext"
	"github.com/herald-sms/herald/internal/store"
)

// Route is where a message goes and how its text is encoded there.
type Route struct {
	Carrier string
	Text    smstext.Options // concatenation method, national tables, packing …
}

// Options configure a Service.
type Options struct {
	Store store.Messages
	// DefaultRegion (ISO 3166 alpha-2, e.g. "GB") lets clients give
	// national numbers; empty requires E.164 with a leading +.
	DefaultRegion string
	// DefaultFrom is the sender used when a request gives none.
	DefaultFrom string
	// MaxParts caps the parts of one message. Default 10.
	MaxParts int
	// Route picks the carrier a message is encoded for, from its account,
	// sender, destination and type (the routing rules match all four).
	// Required.
	Route func(m *herald.Message) (Route, error)
	// CheckURL validates callback URLs (the webhook SSRF rules).
	CheckURL func(raw string) error
	// Consent, when set, checks sender ownership and opt-outs.
	Consent Consent
	// Accepted is told about newly stored messages, after the commit.
	Accepted func([]*herald.Message)
	Now      func() time.Time
	Logger   *slog.Logger

	// Guard, when set, is consulted for each valid message before it is
	// stored (the fraud guard); an error refuses that message alone.
	Guard func(ctx context.Context, m *herald.Message) error
	// Refund, when set, is told about messages Guard let through that
	// Submit then did not store (an idempotent replay, an item or a batch
	// the store refused), so that the guard can take back their count.
	Refund func([]*herald.Message)
}

// Service is the intake. Safe for concurrent use.
type Service struct {
	o Options
}

// New returns an intake service.
func New(o Options) *Service {
	if o.MaxParts <= 0 {
		o.MaxParts = 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.CheckURL == nil {
		o.CheckURL = func(string) error { return nil }
	}
	return &Service{o: o}
}

// Limits on request fields.
const (
	MaxBatch          = 1000
	maxReference      = 128
	maxMetadata       = 4096
	maxBodyRunes      = 1600 * 2
	maxSchedule       = 35 * 24 * time.Hour
	minValidity       = 60
	maxValidity       = 4 * 24 * 3600
	maxAlphanumSender = 11
)

// Submit validates reqs and stores the valid ones in one durable commit.
// results[i] answers reqs[i]. The error return means the store could not
// commit, or could not be read for the consent checks, and nothing was
// stored. With idem.Key set, each request is
// idempotent: the key (suffixed "#i" for batch item i) and idem.Hash
// identify it.
func (s *Service) Submit(ctx context.Context, accountID string, reqs []Request, idem Idempotency, batch bool) ([]Result, error) {
	now := s.o.Now().UTC()
	results := make([]Result, len(reqs))
	items := make([]*store.NewMessage, 0, len(reqs))
	index := make([]int, 0, len(reqs))
	send := make([]*herald.Message, 0, len(reqs)) // what the dispatcher gets: send[j] for items[j]
	var pc policies
	var refund []*herald.Message
	// guarded[j]: items[j] was counted by the guard (refunded if not stored).
	guarded := make([]bool, 0, len(reqs))
	for i := range reqs {
		stored, m, err := s.prepare(ctx, accountID, &reqs[i], now, &pc)
		if err != nil {
			if k := herald.ErrorKind(err); k == herald.KindInternal || k == herald.KindTransient {
				// Not this request's fault: the consent lookups could not
				// read the store (which could not commit either). The
				// request fails as a whole, as when the commit fails,
				// rather than each item with an internal error.
				s.refund(guardedOf(send, guarded))
				return nil, err
			}
			results[i].Err = err
			continue
		}
		send = append(send, m)
		it := &store.NewMessage{Message: stored, SMPP: reqs[i].SMPP}
		if idem.Key != "" {
			it.IdempotencyKey, it.RequestHash = idem.Key, idem.Hash
			if batch {
				it.IdempotencyKey = idem.Key + "#" + strconv.Itoa(i)
			}
		}
		items = append(items, it)
		index = append(index, i)
		guarded = append(guarded, s.o.Guard != nil && !reqs[i].Compliance)
	}
	if len(items) > 0 {
		if err := s.o.Store.CreateMessages(ctx, items); err != nil {
			s.refund(guardedOf(send, guarded))
			return nil, err
		}
	}
	var accepted []*herald.Message
	for j, it := range items {
		r := &results[index[j]]
		switch {
		case it.Err != nil:
			r.Err = it.Err
		case it.Replayed:
			r.Message, r.Replayed = it.Existing, true
		default:
			r.Message = it.Message
			accepted = append(accepted, send[j])
			continue
		}
		if guarded[j] {
			refund = append(refund, send[j])
		}
	}
	s.refund(refund)
	if len(accepted) > 0 && s.o.Accepted != nil {
		s.o.Accepted(accepted)
	}
	return results, nil
}

// guardedOf returns the messages of send the guard counted.
func guardedOf(send []*herald.Message, guarded []bool) []*herald.Message {
	var out []*herald.Message
	for j, m := range send {
		if guarded[j] {
			out = append(out, m)
		}
	}
	return out
}

// refund gives the guard back the count of messages not stored.
func (s *Service) refund(ms []*herald.Message) {
	if len(ms) > 0 && s.o.Refund != nil {
		s.o.Refund(ms)
	}
}

// prepare validates one request, builds its message and asks the guard:
// it returns the message to store and the one to send (the same unless
// the request has a Redacted body).
//
// The checks run cheapest first: validation, then consent (sender
// ownership, opt-outs), then the fraud guard, which counts what it lets
// through. Herald's own compliance replies (STOP confirmations, HELP) are
// not subject to the guard.
func (s *Service) prepare(ctx context.Context, accountID string, r *Request, now time.Time, pc *policies) (stored, send *herald.Message, err error) {
	m, err := s.build(accountID, r, now)
	if err == nil {
		err = s.checkConsent(ctx, accountID, m, r, pc)
	}
	if err == nil && s.o.Guard != nil && !r.Compliance {
		err = s.o.Guard(ctx, m)
	}
	if err != nil {
		return nil, nil, err
	}
	stored = m
	if r.Redacted != "" {
		m.Ephemeral = true
		if stored, err = s.redact(m, r.Redacted); err != nil {
			return nil, nil, err
		}
	}
	return stored, m, nil
}

// Prepare validates r and builds its message, with the consent checks and
// the guard, without storing it: for a caller that stores it in a
// transaction of its own (the Verify API stores a code's message with its
// verification; the inbound service stores keyword replies with the
// inbound message) and then hands the send copy to Accept. The error is a *herald.Error, as in
// Result.Err.
func (s *Service) Prepare(ctx context.Context, accountID string, r Request) (stored, send *herald.Message, err error) {
	return s.prepare(ctx, accountID, &r, s.o.Now().UTC(), &policies{})
}

// Accept hands messages stored by the caller to the dispatcher.
func (s *Service) Accept(ms []*herald.Message) {
	if len(ms) > 0 && s.o.Accepted != nil {
		s.o.Accepted(ms)
	}
}

// redact returns the copy of m to store: text as its body and parts,
// with m's layout (text must need as many parts as m's body).
func (s *Service) redact(m *herald.Message, text string) (*herald.Message, error) {
	r := *m
	r.Body, r.Parts = text, nil
	opts, err := s.o.Route(m)
	if err != nil {
		return nil, err
	}
	if err := s.split(&r, opts.Text); err != nil {
		return nil, err
	}
	if r.PartCount != m.PartCount {
		return nil, fmt.Errorf("intake: the redacted body needs %d parts, the body %d", r.PartCount, m.PartCount)
	}
	return &r, nil
}

// Normalize returns a destination number in E.164, or the same
// *herald.Error (code invalid_phone_number, field "to") as Submit.
func (s *Service) Normalize(raw string) (string, error) {
	to, _, err := s.normalizeTo(raw)
	return to, err
}

// Cancel cancels a message that has not been sent yet.
func (s *Service) Cancel(ctx context.Context, accountID, id string) (*herald.Message, error) {
	return s.o.Store.CancelMessage(ctx, accountID, id, s.o.Now().UTC())
}

// build validates one request and turns it into a message with parts.
func (s *Service) build(accountID string, r *Request, now time.Time) (*herald.Message, error) {
	to, country, err := s.normalizeTo(r.To)
	if err != nil {
		return nil, err
	}
	from := strings.TrimSpace(r.From)
	if from == "" {
		from = s.o.DefaultFrom
	}
	if err := validateSender(from); err != nil {
		return nil, err
	}
	typ := r.Type
	if typ == "" {
		typ = herald.TypeTransactional
	}
	if !typ.Valid() {
		return nil, herald.FieldError("type", "invalid_type", "type must be otp, transactional or marketing")
	}
	if r.Body == "" {
		return nil, herald.FieldError("body", "empty_body", "body is required and must not be empty")
	}
	if !utf8.ValidString(r.Body) {
		return nil, herald.FieldError("body", "invalid_body", "body must be valid UTF-8")
	}
	if utf8.RuneCountInString(r.Body) > maxBodyRunes {
		return nil, herald.FieldError("body", "body_too_long", "body has more than %d characters", maxBodyRunes)
	}
	m := &herald.Message{
		ID: herald.NewID("msg", now.UnixMilli()), AccountID: accountID, To: to, From: from, Body: r.Body,
		Type: typ, Status: herald.StatusQueued, Reference: r.Reference, SmartEncoding: r.SmartEncoding,
		CreatedAt: now, UpdatedAt: now, Country: country,
	}
	if r.SendAt != nil {
		at := r.SendAt.UTC()
		switch {
		case !at.After(now):
			return nil, herald.FieldError("send_at", "invalid_send_at", "send_at must be in the future")
		case at.Sub(now) > maxSchedule:
			return nil, herald.FieldError("send_at", "invalid_send_at", "send_at must be within %d days", int(maxSchedule.Hours()/24))
		}
		m.SendAt, m.Status = at, herald.StatusScheduled
	}
	if r.ValidityPeriod != 0 {
		if r.ValidityPeriod < minValidity || r.ValidityPeriod > maxValidity {
			return nil, herald.FieldError("validity_period", "invalid_validity_period",
				"validity_period must be between %d and %d seconds", minValidity, maxValidity)
		}
		start := now
		if !m.SendAt.IsZero() {
			start = m.SendAt
		}
		m.ValidUntil = start.Add(time.Duration(r.ValidityPeriod) * time.Second)
	}
	if r.CallbackURL != "" {
		if err := s.o.CheckURL(r.CallbackURL); err != nil {
			return nil, herald.FieldError("callback_url", "invalid_callback_url", "%v", err)
		}
		m.CallbackURL = r.CallbackURL
	}
	if len(r.Reference) > maxReference || !utf8.ValidString(r.Reference) {
		return nil, herald.FieldError("reference", "invalid_reference", "reference must be at most %d bytes of UTF-8", maxReference)
	}
	if len(r.Metadata) > 0 && string(r.Metadata) != "null" {
		if err := validateMetadata(r.Metadata); err != nil {
			return nil, err
		}
		m.Metadata = append(json.RawMessage(nil), r.Metadata...)
	}
	route, err := s.o.Route(m)
	if err != nil {
		var he *herald.Error
		if errors.As(err, &he) {
			return nil, err
		}
		return nil, &herald.Error{Kind: herald.KindInvalid, Code: "no_route", Field: "to", Message: "no carrier route reaches this number", Err: err}
	}
	m.Carrier = route.Carrier
	if err := s.split(m, route.Text); err != nil {
		return nil, err
	}
	return m, nil
}

func (s *Service) split(m *herald.Message, opts smstext.Options) error {
	opts.Smart = m.SmartEncoding
	opts.Ref = uint16(rand.N(256))
	if opts.Concat == smstext.ConcatUDH16 || opts.Concat == smstext.ConcatSAR {
		opts.Ref = uint16(rand.N(65536))
	}
	segs, err := smstext.Split(m.Body, opts)
	if err != nil {
		return herald.FieldError("body", "body_too_long", "the body cannot be sent: %v", err)
	}
	if len(segs) > s.o.MaxParts {
		return herald.FieldError("body", "body_too_long", "the body needs %d parts; the limit is %d", len(segs), s.o.MaxParts)
	}
	m.PartCount = len(segs)
	m.Encoding = encodingName(segs[0].DataCoding)
	status := herald.StatusQueued
	if m.Status == herald.StatusScheduled {
		status = herald.StatusScheduled
	}
	for i, seg := range segs {
		p := herald.Part{MessageID: m.ID, Seq: i + 1, Status: status, ShortMessage: seg.ShortMessage, DataCoding: seg.DataCoding,
			Payload: opts.Concat == smstext.ConcatPayload}
		if seg.UDHI {
			p.ESMClass = smstext.UDHI
		}
		if seg.SAR != nil {
			p.SARRef, p.SARTotal, p.SARSeq = seg.SAR.Ref, seg.SAR.Total, seg.SAR.Seq
		}
		m.Parts = append(m.Parts, p)
	}
	return nil
}

func encodingName(dc byte) string {
	switch dc {
	case 0x00:
		return "gsm7"
	case 0x08:
		return "ucs2"
	case 0x03:
		return "latin1"
	case 0x04, 0x02:
		return "binary"
	}
	return fmt.Sprintf("data_coding_%d", dc)
}

// normalizeTo parses a destination number and returns it in E.164.
func (s *Service) normalizeTo(raw string) (e164, country string, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", "", herald.FieldError("to", "invalid_phone_number", "to is required")
	}
	if len(raw) > 32 {
		return "", "", herald.FieldError("to", "invalid_phone_number", "to is not a phone number")
	}
	region := s.o.DefaultRegion
	if !strings.HasPrefix(raw, "+") && region == "" {
		return "", "", herald.FieldError("to", "invalid_phone_number", "to must be in E.164 form (+ and country code), as no default region is configured")
	}
	e164, country, valid, err := phone.Parse(raw, region)
	if err != nil || !valid {
		return "", "", herald.FieldError("to", "invalid_phone_number", "%q is not a valid phone number", raw)
	}
	return e164, country, nil
}

// validateSender accepts a numeric sender (a phone number or short code of
// up to 15 digits, optionally with +) or an alphanumeric one of 1 to 11
// characters from [A-Za-z0-9 .-] with at least one letter.
func validateSender(from string) error {
	if from == "" {
		return herald.FieldError("from", "invalid_sender", "from is required (no default sender is configured)")
	}
	digits := strings.TrimPrefix(from, "+")
	numeric := digits != ""
	for _, c := range digits {
		if c < '0' || c > '9' {
			numeric = false
			break
		}
	}
	if numeric {
		if len(digits) > 15 {
			return herald.FieldError("from", "invalid_sender", "a numeric sender has at most 15 digits")
		}
		return nil
	}
	if utf8.RuneCountInString(from) > maxAlphanumSender {
		return herald.FieldError("from", "invalid_sender", "an alphanumeric sender has at most %d characters", maxAlphanumSender)
	}
	letter := false
	for _, c := range from {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9', c == ' ', c == '.', c == '-':
		default:
			return herald.FieldError("from", "invalid_sender", "an alphanumeric sender may use only letters, digits, space, '.' and '-'")
		}
	}
	if !letter {
		return herald.FieldError("from", "invalid_sender", "an alphanumeric sender needs at least one letter")
	}
	return nil
}

func validateMetadata(raw json.RawMessage) error {
	if len(raw) > maxMetadata {
		return herald.FieldError("metadata", "invalid_metadata", "metadata must be at most %d bytes of JSON", maxMetadata)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return herald.FieldError("metadata", "invalid_metadata", "metadata must be a JSON object")
	}
	if len(obj) > 50 {
		return herald.FieldError("metadata", "invalid_metadata", "metadata may have at most 50 keys")
	}
	return nil
}
