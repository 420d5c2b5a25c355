package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/phone"
	"github.com/herald-sms/herald/internal/store"
)

// TwoWay is the part of the store behind senders, policies, inbound
// messages, conversations and opt-outs. When Options.TwoWay is nil those
// endpoints answer 404.
type TwoWay interface {
	CreateSender(ctx context.Context, s *herald.Sender) error
	Senders(ctx context.Context, accountID string) ([]*herald.Sender, error)
	DeleteSender(ctx context.Context, accountID, id string) error
	Policy(ctx context.Context, accountID string) (*herald.Policy, error)
	SetPolicy(ctx context.Context, p *herald.Policy) error
	InboundMessage(ctx context.Context, accountID, id string) (*herald.InboundMessage, error)
	ListInbound(ctx context.Context, accountID string, f store.InboundFilter) ([]*herald.InboundMessage, string, error)
	Conversation(ctx context.Context, accountID, number, cursor string, limit int) ([]store.ConversationItem, string, error)
	OptOuts(ctx context.Context, accountID, cursor string, limit int) ([]*herald.OptOut, string, error)
	AddOptOuts(ctx context.Context, os []*herald.OptOut) (int, error)
	RemoveOptOut(ctx context.Context, e *herald.ConsentEntry) error
	ConsentLedger(ctx context.Context, accountID, number string, limit int) ([]*herald.ConsentEntry, error)
}

// Limits of the two-way endpoints.
const (
	maxImportBody = 4 << 20 // POST /v1/opt-outs/import
	maxReason     = 500
)

func (s *Server) twoWay() (TwoWay, error) {
	if s.twoway == nil {
		return nil, notFound("resource")
	}
	return s.twoway, nil
}

type senderRequest struct {
	Address  string `json:"address"`
	Language string `json:"language,omitempty"`
}

type senderView struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"` // "sender"
	Address   string            `json:"address"`
	Kind      herald.SenderKind `json:"kind"`
	Language  string            `json:"language,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

func viewSender(snd *herald.Sender) senderView {
	return senderView{ID: snd.ID, Object: "sender", Address: snd.Address, Kind: snd.Kind, Language: snd.Language,
		CreatedAt: snd.CreatedAt.UTC()}
}

// createSender answers POST /v1/senders: 201, or 409 sender_taken when
// any account has registered the address.
func (s *Server) createSender(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	var req senderRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	addr, kind, err := herald.ParseSender(req.Address)
	if err != nil {
		return err
	}
	if len(req.Language) > 16 {
		return fieldError(codeInvalidParameter, "language", "language is a short tag such as en or es")
	}
	now := s.now().UTC()
	snd := &herald.Sender{ID: herald.NewID("snd", now.UnixMilli()), AccountID: account, Address: addr, Kind: kind,
		Language: req.Language, CreatedAt: now}
	if err := tw.CreateSender(r.Context(), snd); err != nil {
		return storeError(err, "sender")
	}
	return writeJSON(w, http.StatusCreated, viewSender(snd))
}

// listSenders answers GET /v1/senders.
func (s *Server) listSenders(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	ss, err := tw.Senders(r.Context(), account)
	if err != nil {
		return storeError(err, "sender")
	}
	out := listOf[senderView]{Data: make([]senderView, 0, len(ss))}
	for _, snd := range ss {
		out.Data = append(out.Data, viewSender(snd))
	}
	return writeJSON(w, http.StatusOK, out)
}

// deleteSender answers DELETE /v1/senders/{id} with 204.
func (s *Server) deleteSender(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	id, err := pathID(r, "sender")
	if err != nil {
		return err
	}
	if err := tw.DeleteSender(r.Context(), account, id); err != nil {
		return storeError(err, "sender")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type policyView struct {
	AllowAnySender bool                 `json:"allow_any_sender"`
	OptOutScope    herald.OptOutScope   `json:"opt_out_scope"`
	Exempt         []herald.MessageType `json:"exempt"`
	UpdatedAt      *time.Time           `json:"updated_at,omitempty"`
}

func viewPolicy(p *herald.Policy) policyView {
	v := policyView{AllowAnySender: p.AllowAnySender, OptOutScope: p.OptOutScope, Exempt: p.Exempt}
	if v.Exempt == nil {
		v.Exempt = []herald.MessageType{}
	}
	if !p.UpdatedAt.IsZero() {
		t := p.UpdatedAt.UTC()
		v.UpdatedAt = &t
	}
	return v
}

// getPolicy answers GET /v1/policy.
func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	p, err := tw.Policy(r.Context(), account)
	if err != nil {
		return storeError(err, "policy")
	}
	return writeJSON(w, http.StatusOK, viewPolicy(p))
}

// putPolicy answers PUT /v1/policy: the whole policy is replaced, and the
// change is recorded in the consent ledger.
func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	var req policyView
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if req.OptOutScope == "" {
		req.OptOutScope = herald.ScopeSender
	}
	if req.OptOutScope != herald.ScopeSender && req.OptOutScope != herald.ScopeAccount {
		return fieldError(codeInvalidParameter, "opt_out_scope", "opt_out_scope is sender or account")
	}
	for i, t := range req.Exempt {
		if !t.Valid() {
			return fieldError(codeInvalidParameter, fmt.Sprintf("exempt[%d]", i), "exempt lists message types: otp, transactional, marketing")
		}
	}
	p := &herald.Policy{AccountID: account, AllowAnySender: req.AllowAnySender, OptOutScope: req.OptOutScope,
		Exempt: req.Exempt, UpdatedAt: s.now().UTC()}
	if err := tw.SetPolicy(r.Context(), p); err != nil {
		return storeError(err, "policy")
	}
	return writeJSON(w, http.StatusOK, viewPolicy(p))
}

type inboundList struct {
	Data       []herald.InboundView `json:"data"`
	NextCursor *string              `json:"next_cursor"`
}

// listInbound answers GET /v1/inbound and GET /v1/messages?direction=inbound:
// the account's inbound messages, newest first.
func (s *Server) listInbound(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	f := store.InboundFilter{}
	f.Limit, f.Cursor, err = pageQuery(r, defaultLimit, func(name, v string) (bool, error) {
		switch name {
		case "direction":
			if v != string(herald.Inbound) {
				return true, fieldError(codeInvalidParameter, name, "direction is inbound or outbound")
			}
		case "from":
			f.From = v
		case "to":
			f.To = v
		default:
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	ms, next, err := tw.ListInbound(r.Context(), account, f)
	if err != nil {
		return storeError(err, "message")
	}
	out := inboundList{Data: make([]herald.InboundView, 0, len(ms))}
	for _, m := range ms {
		out.Data = append(out.Data, m.View())
	}
	if next != "" {
		c := encodeCursor(next)
		out.NextCursor = &c
	}
	return writeJSON(w, http.StatusOK, out)
}

func parseLimit(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, fieldError(codeInvalidParameter, "limit", fmt.Sprintf("limit must be an integer from 1 to %d", maxLimit))
	}
	return n, nil
}

// pageQuery parses a listing's query: limit, cursor, and the parameters
// other accepts (it returns false for an unknown name). Each parameter
// may appear once.
func pageQuery(r *http.Request, limit int, other func(name, v string) (bool, error)) (int, string, error) {
	q, err := urlQuery(r)
	if err != nil {
		return 0, "", err
	}
	cursor := ""
	for name, vs := range q {
		if len(vs) != 1 {
			return 0, "", fieldError(codeInvalidParameter, name, name+" must be given once")
		}
		switch name {
		case "limit":
			if limit, err = parseLimit(vs[0]); err != nil {
				return 0, "", err
			}
		case "cursor":
			c, ok := decodeCursor(vs[0])
			if !ok {
				return 0, "", fieldError(codeInvalidCursor, name, "cursor is not one this API returned")
			}
			cursor = c
		default:
			known := false
			if other != nil {
				if known, err = other(name, vs[0]); err != nil {
					return 0, "", err
				}
			}
			if !known {
				return 0, "", fieldError(codeUnknownParameter, name, fmt.Sprintf("unknown query parameter %q", name))
			}
		}
	}
	return limit, cursor, nil
}

// getInbound answers GET /v1/inbound/{id}.
func (s *Server) getInbound(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	m, err := tw.InboundMessage(r.Context(), account, id)
	if err != nil {
		return storeError(err, "message")
	}
	return writeJSON(w, http.StatusOK, m.View())
}

// conversationItem is a message of either direction.
type conversationItem struct {
	Direction herald.Direction `json:"direction"`
	Message   any              `json:"message"` // a Message or an InboundMessage
}

type conversationList struct {
	Number     string             `json:"number"`
	Data       []conversationItem `json:"data"`
	NextCursor *string            `json:"next_cursor"`
}

// conversation answers GET /v1/conversations/{number}: the messages sent
// to and received from one person, oldest first, a page at a time.
func (s *Server) conversation(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	number, err := parseNumber(r.PathValue("number"))
	if err != nil {
		return err
	}
	limit, cursor, err := pageQuery(r, defaultLimit, nil)
	if err != nil {
		return err
	}
	items, next, err := tw.Conversation(r.Context(), account, number, cursor, limit)
	if err != nil {
		if herald.ErrorKind(err) == herald.KindInvalid {
			return fieldError(codeInvalidCursor, "cursor", "cursor is not one this API returned")
		}
		return storeError(err, "conversation")
	}
	out := conversationList{Number: number, Data: make([]conversationItem, 0, len(items))}
	for _, it := range items {
		if it.Outbound != nil {
			v := it.Outbound.View()
			out.Data = append(out.Data, conversationItem{Direction: herald.Outbound, Message: v})
		} else {
			out.Data = append(out.Data, conversationItem{Direction: herald.Inbound, Message: it.Inbound.View()})
		}
	}
	if next != "" {
		c := encodeCursor(next)
		out.NextCursor = &c
	}
	return writeJSON(w, http.StatusOK, out)
}

// parseNumber parses a person's number given in a path or a CSV line.
func parseNumber(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	bad := fieldError(codeInvalidPhoneNumber, "number", "number must be in E.164 form (+ and country code)")
	if !strings.HasPrefix(raw, "+") || len(raw) > 32 {
		return "", bad
	}
	e164, _, valid, err := phone.Parse(raw, "")
	if err != nil || !valid {
		return "", bad
	}
	return e164, nil
}

type optOutRequest struct {
	Number string `json:"number"`
	Sender string `json:"sender,omitempty"` // "" = every sender of the account
}

type optOutView struct {
	Object    string             `json:"object"` // "opt_out"
	Number    string             `json:"number"`
	Sender    string             `json:"sender,omitempty"`
	Scope     herald.OptOutScope `json:"scope"`
	Source    string             `json:"source"`
	Keyword   string             `json:"keyword,omitempty"`
	InboundID string             `json:"inbound_id,omitempty"`
	CreatedAt time.Time          `json:"created_at"`
}

func viewOptOut(o *herald.OptOut) optOutView {
	return optOutView{Object: "opt_out", Number: o.Number, Sender: o.Sender, Scope: o.Scope(), Source: o.Source,
		Keyword: o.Keyword, InboundID: o.InboundID, CreatedAt: o.At.UTC()}
}

type optOutList struct {
	Data       []optOutView `json:"data"`
	NextCursor *string      `json:"next_cursor"`
}

// listOptOuts answers GET /v1/opt-outs.
func (s *Server) listOptOuts(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	limit, cursor, err := pageQuery(r, defaultLimit, nil)
	if err != nil {
		return err
	}
	os, next, err := tw.OptOuts(r.Context(), account, cursor, limit)
	if err != nil {
		return storeError(err, "opt-out")
	}
	out := optOutList{Data: make([]optOutView, 0, len(os))}
	for _, o := range os {
		out.Data = append(out.Data, viewOptOut(o))
	}
	if next != "" {
		c := encodeCursor(next)
		out.NextCursor = &c
	}
	return writeJSON(w, http.StatusOK, out)
}

// addOptOut answers POST /v1/opt-outs: 201 with the opt-out (200 when the
// number had already opted out).
func (s *Server) addOptOut(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	var req optOutRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	o, err := s.optOut(account, req.Number, req.Sender, "api")
	if err != nil {
		return err
	}
	n, err := tw.AddOptOuts(r.Context(), []*herald.OptOut{o})
	if err != nil {
		return storeError(err, "opt-out")
	}
	status := http.StatusCreated
	if n == 0 {
		status = http.StatusOK
	}
	return writeJSON(w, status, viewOptOut(o))
}

func (s *Server) optOut(account, number, sender, source string) (*herald.OptOut, error) {
	num, err := parseNumber(number)
	if err != nil {
		return nil, err
	}
	if sender != "" {
		if sender, _, err = herald.ParseSender(sender); err != nil {
			return nil, err
		}
	}
	return &herald.OptOut{AccountID: account, Number: num, Sender: sender, At: s.now().UTC(), Source: source}, nil
}

// removeOptOut answers DELETE /v1/opt-outs/{number}?reason=…[&sender=…]
// with 204; the removal and its reason are recorded in the ledger.
func (s *Server) removeOptOut(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	number, err := parseNumber(r.PathValue("number"))
	if err != nil {
		return err
	}
	q, err := urlQuery(r)
	if err != nil {
		return err
	}
	var reason, sender string
	for name, vs := range q {
		if len(vs) != 1 {
			return fieldError(codeInvalidParameter, name, name+" must be given once")
		}
		switch name {
		case "reason":
			reason = strings.TrimSpace(vs[0])
		case "sender":
			if sender, _, err = herald.ParseSender(vs[0]); err != nil {
				return err
			}
		default:
			return fieldError(codeUnknownParameter, name, fmt.Sprintf("unknown query parameter %q", name))
		}
	}
	if reason == "" || len(reason) > maxReason {
		return fieldError(codeReasonRequired, "reason", fmt.Sprintf("removing an opt-out needs a reason (1 to %d characters), kept as evidence", maxReason))
	}
	e := &herald.ConsentEntry{AccountID: account, Number: number, Sender: sender, At: s.now().UTC(), Source: "api", Reason: reason}
	if err := tw.RemoveOptOut(r.Context(), e); err != nil {
		return storeError(err, "opt-out")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type ledgerView struct {
	ID        string               `json:"id"`
	Number    string               `json:"number,omitempty"`
	Sender    string               `json:"sender,omitempty"`
	Action    herald.ConsentAction `json:"action"`
	At        time.Time            `json:"at"`
	Source    string               `json:"source"`
	Keyword   string               `json:"keyword,omitempty"`
	InboundID string               `json:"inbound_id,omitempty"`
	Reason    string               `json:"reason,omitempty"`
}

// consentLedger answers GET /v1/opt-outs/ledger[?number=…]: the evidence,
// oldest first.
func (s *Server) consentLedger(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	q, err := urlQuery(r)
	if err != nil {
		return err
	}
	number, limit := "", maxLimit
	for name, vs := range q {
		if len(vs) != 1 {
			return fieldError(codeInvalidParameter, name, name+" must be given once")
		}
		switch name {
		case "number":
			if number, err = parseNumber(vs[0]); err != nil {
				return err
			}
		case "limit":
			if limit, err = parseLimit(vs[0]); err != nil {
				return err
			}
		default:
			return fieldError(codeUnknownParameter, name, fmt.Sprintf("unknown query parameter %q", name))
		}
	}
	es, err := tw.ConsentLedger(r.Context(), account, number, limit)
	if err != nil {
		return storeError(err, "ledger")
	}
	out := listOf[ledgerView]{Data: make([]ledgerView, 0, len(es))}
	for _, e := range es {
		out.Data = append(out.Data, ledgerView{ID: e.ID, Number: e.Number, Sender: e.Sender, Action: e.Action, At: e.At.UTC(),
			Source: e.Source, Keyword: e.Keyword, InboundID: e.InboundID, Reason: e.Reason})
	}
	return writeJSON(w, http.StatusOK, out)
}

// exportOptOuts answers GET /v1/opt-outs/export with text/csv:
// number,sender,source,keyword,inbound_id,created_at.
func (s *Server) exportOptOuts(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"number", "sender", "source", "keyword", "inbound_id", "created_at"})
	for cursor := ""; ; {
		os, next, err := tw.OptOuts(r.Context(), account, cursor, 10000)
		if err != nil {
			return storeError(err, "opt-out")
		}
		for _, o := range os {
			cw.Write([]string{o.Number, o.Sender, o.Source, o.Keyword, o.InboundID, o.At.UTC().Format(time.RFC3339)})
		}
		if next == "" {
			break
		}
		cursor = next
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="opt-outs.csv"`)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

type importResult struct {
	Imported int           `json:"imported"` // new opt-outs
	Existing int           `json:"existing"` // already opted out
	Errors   []importError `json:"errors"`
}

type importError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// importOptOuts answers POST /v1/opt-outs/import with a text/csv body:
// one number per line, optionally a sender in the second column; a first
// line starting with "number" is a header. Valid lines are imported in
// one commit; bad ones are reported by line.
func (s *Server) importOptOuts(w http.ResponseWriter, r *http.Request, account string) error {
	tw, err := s.twoWay()
	if err != nil {
		return err
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		return apiError(herald.KindUnsupported, codeUnsupportedMediaType, "the import is sent with Content-Type: text/csv")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImportBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return apiError(herald.KindTooLarge, codeRequestTooLarge, fmt.Sprintf("the import is larger than %d bytes", maxImportBody))
		}
		return apiError(herald.KindInvalid, codeInvalidCSV, "could not read the request body")
	}
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	res := importResult{Errors: []importError{}}
	var os []*herald.OptOut
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return apiError(herald.KindInvalid, codeInvalidCSV, "the body is not CSV: "+err.Error())
		}
		if len(rec) == 0 || (line == 1 && strings.EqualFold(strings.TrimSpace(rec[0]), "number")) {
			continue
		}
		sender := ""
		if len(rec) > 1 {
			sender = strings.TrimSpace(rec[1])
		}
		o, err := s.optOut(account, rec[0], sender, "import")
		if err != nil {
			res.Errors = append(res.Errors, importError{Line: line, Message: err.Error()})
			continue
		}
		os = append(os, o)
	}
	if len(os) > 0 {
		n, err := tw.AddOptOuts(r.Context(), os)
		if err != nil {
			return storeError(err, "opt-out")
		}
		res.Imported, res.Existing = n, len(os)-n
	}
	return writeJSON(w, http.StatusOK, res)
}
