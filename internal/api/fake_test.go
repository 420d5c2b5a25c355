package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/store"
)

// fakeStore is an in-memory Store. A message with id "msg_panic" makes
// Message panic, to exercise recovery.
type fakeStore struct {
	mu         sync.Mutex // guards every field below
	keys       map[string]*herald.APIKey
	keyLookups int
	messages   map[string]*herald.Message
	order      []string // message ids, oldest first
	events     map[string][]herald.Event
	deliveries map[string][]*herald.Delivery
	endpoints  map[string]*herald.WebhookEndpoint
	down       bool // every method fails with a plain error
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		keys:       map[string]*herald.APIKey{},
		messages:   map[string]*herald.Message{},
		events:     map[string][]herald.Event{},
		deliveries: map[string][]*herald.Delivery{},
		endpoints:  map[string]*herald.WebhookEndpoint{},
	}
}

var errFakeDown = errors.New("fake store: disk on fire")

func fakeNotFound() error {
	return &herald.Error{Kind: herald.KindNotFound, Code: "not_found", Message: "not found", Err: store.ErrNotFound}
}

func (s *fakeStore) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

func (s *fakeStore) lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyLookups
}

func (s *fakeStore) addKey(account string) string {
	secret, k := herald.NewAPIKey(account)
	s.mu.Lock()
	s.keys[k.Prefix] = k
	s.mu.Unlock()
	return secret
}

func (s *fakeStore) add(m *herald.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(m)
}

func (s *fakeStore) addLocked(m *herald.Message) {
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
	s.events[m.ID] = append(s.events[m.ID], herald.Event{
		ID: "evt_" + m.ID, AccountID: m.AccountID, MessageID: m.ID,
		Type: herald.EventType(m.Status), Status: m.Status, At: m.CreatedAt,
	})
}

func (s *fakeStore) APIKeyByPrefix(_ context.Context, prefix string) (*herald.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errFakeDown
	}
	s.keyLookups++
	if k, ok := s.keys[prefix]; ok {
		return k, nil
	}
	return nil, fakeNotFound()
}

func (s *fakeStore) Message(_ context.Context, account, id string, parts bool) (*herald.Message, error) {
	if id == "msg_panic" {
		panic("fake store: msg_panic")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errFakeDown
	}
	m, ok := s.messages[id]
	if !ok || m.AccountID != account {
		return nil, fakeNotFound()
	}
	c := *m
	if !parts {
		c.Parts = nil
	}
	return &c, nil
}

// ListMessages pages newest first; its cursor is "off:N".
func (s *fakeStore) ListMessages(_ context.Context, account string, f store.MessageFilter) ([]*herald.Message, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, "", errFakeDown
	}
	off := 0
	if f.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(f.Cursor, "off:"))
		if !strings.HasPrefix(f.Cursor, "off:") || err != nil || n < 0 {
			return nil, "", &herald.Error{Kind: herald.KindInvalid, Code: "bad_cursor", Message: "bad cursor"}
		}
		off = n
	}
	var all []*herald.Message
	for _, id := range slices.Backward(s.order) {
		m := s.messages[id]
		switch {
		case m.AccountID != account,
			f.Status != "" && m.Status != f.Status,
			f.To != "" && m.To != f.To,
			f.Type != "" && m.Type != f.Type,
			f.Reference != "" && m.Reference != f.Reference,
			!f.After.IsZero() && m.CreatedAt.Before(f.After),
			!f.Before.IsZero() && !m.CreatedAt.Before(f.Before):
			continue
		}
		c := *m
		c.Parts = nil
		all = append(all, &c)
	}
	if off > len(all) {
		off = len(all)
	}
	end := min(off+f.Limit, len(all))
	next := ""
	if end < len(all) {
		next = "off:" + strconv.Itoa(end)
	}
	return all[off:end], next, nil
}

func (s *fakeStore) Events(_ context.Context, account, id string) ([]herald.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []herald.Event
	for _, e := range s.events[id] {
		if e.AccountID == account {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *fakeStore) Deliveries(_ context.Context, account, id string) ([]*herald.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*herald.Delivery
	for _, d := range s.deliveries[id] {
		if d.AccountID == account {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *fakeStore) CreateEndpoint(_ context.Context, e *herald.WebhookEndpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errFakeDown
	}
	c := *e
	s.endpoints[e.ID] = &c
	return nil
}

func (s *fakeStore) Endpoints(_ context.Context, account string) ([]*herald.WebhookEndpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*herald.WebhookEndpoint
	for _, e := range s.endpoints {
		if e.AccountID == account {
			c := *e
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *herald.WebhookEndpoint) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *fakeStore) DeleteEndpoint(_ context.Context, account, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.endpoints[id]
	if !ok || e.AccountID != account {
		return fakeNotFound()
	}
	delete(s.endpoints, id)
	return nil
}

// fakeIntake validates a little, stores into a fakeStore and keeps
// idempotency records the way the store contract describes.
type fakeIntake struct {
	st  *fakeStore
	now func() time.Time

	mu    sync.Mutex // guards the fields below
	idem  map[string]idemRecord
	fail  error // returned by Submit when set
	calls int
}

type idemRecord struct {
	hash    []byte
	results []intake.Result
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

func (in *fakeIntake) setFail(err error) {
	in.mu.Lock()
	in.fail = err
	in.mu.Unlock()
}

func (in *fakeIntake) Submit(_ context.Context, account string, reqs []intake.Request, idem intake.Idempotency, batch bool) ([]intake.Result, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.calls++
	if in.fail != nil {
		return nil, in.fail
	}
	if len(idem.Hash) != 32 {
		panic(fmt.Sprintf("fake intake: hash of %d bytes", len(idem.Hash)))
	}
	rk := account + "\x00" + idem.Key
	if rec, ok := in.idem[rk]; ok && idem.Key != "" {
		out := make([]intake.Result, len(reqs))
		for i := range out {
			if !bytes.Equal(rec.hash, idem.Hash) || len(rec.results) != len(reqs) {
				out[i].Err = &herald.Error{Kind: herald.KindConflict, Code: codeIdempotencyKeyReused,
					Message: "Idempotency-Key was used with another request"}
				continue
			}
			out[i] = rec.results[i]
			out[i].Replayed = out[i].Err == nil
		}
		return out, nil
	}
	out := make([]intake.Result, len(reqs))
	now := in.now()
	in.st.mu.Lock()
	for i, r := range reqs {
		switch {
		case !e164.MatchString(r.To):
			out[i].Err = herald.FieldError("to", "invalid_phone_number", "to must be an E.164 number")
		case r.From == "":
			out[i].Err = herald.FieldError("from", "invalid_sender", "from is required")
		case r.Body == "":
			out[i].Err = herald.FieldError("body", "empty_body", "body is required")
		case r.Type != "" && !r.Type.Valid():
			out[i].Err = herald.FieldError("type", "invalid_type", "bad type")
		default:
			typ := r.Type
			if typ == "" {
				typ = herald.TypeTransactional
			}
			m := &herald.Message{
				ID: herald.NewID("msg", now.UnixMilli()), AccountID: account, To: r.To, From: r.From,
				Body: r.Body, Type: typ, Status: herald.StatusAccepted, Encoding: "gsm7", PartCount: 1,
				Reference: r.Reference, Metadata: r.Metadata, CreatedAt: now, UpdatedAt: now,
				Parts: []herald.Part{{Seq: 1, Status: herald.StatusAccepted}},
			}
			in.st.addLocked(m)
			c := *m
			out[i].Message = &c
		}
	}
	in.st.mu.Unlock()
	if idem.Key != "" {
		in.idem[rk] = idemRecord{hash: idem.Hash, results: out}
	}
	return out, nil
}

func (in *fakeIntake) Cancel(_ context.Context, account, id string) (*herald.Message, error) {
	in.st.mu.Lock()
	defer in.st.mu.Unlock()
	m, ok := in.st.messages[id]
	if !ok || m.AccountID != account {
		return nil, fakeNotFound()
	}
	if m.Status != herald.StatusAccepted {
		return nil, &herald.Error{Kind: herald.KindConflict, Code: codeNotCancelable, Message: "the message can no longer be canceled"}
	}
	m.Status = herald.StatusCanceled
	c := *m
	return &c, nil
}
