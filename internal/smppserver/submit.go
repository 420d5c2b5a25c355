package smppserver

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smstext"
	"github.com/herald-sms/herald/internal/store"
)

// submission is one message waiting for the intake.
type submission struct {
	account string
	req     intake.Request
	done    func(intake.Result, error) // called once, from a flush goroutine
}

// serve handles a bound client's request (on the session's reader
// goroutine: it hands slow work to other goroutines).
func (s *Server) serve(r *smpp.Request) {
	c := s.clientOf(r.Session)
	if c == nil {
		r.Respond(pdu.StatusInvBndSts, nil)
		return
	}
	switch b := r.Body.(type) {
	case *pdu.SubmitSM:
		if !c.role.CanSend() {
			r.Respond(pdu.StatusInvBndSts, nil)
			return
		}
		s.submitSM(c, r, b)
	case *pdu.SubmitMulti:
		if !c.role.CanSend() {
			r.Respond(pdu.StatusInvBndSts, nil)
			return
		}
		s.submitMulti(c, r, b)
	case *pdu.QuerySM:
		s.wg.Go(func() { s.querySM(c, r, b) })
	case *pdu.CancelSM:
		if !c.role.CanSend() {
			r.Respond(pdu.StatusInvBndSts, nil)
			return
		}
		s.wg.Go(func() { s.cancelSM(c, r, b) })
	default:
		// deliver_sm, data_sm, replace_sm …: not offered to clients. The
		// response of the request's own type carries the refusal (a
		// generic_nack body cannot answer a known command: Respond would
		// send nothing and the client would wait for its timeout).
		r.Respond(pdu.StatusInvCmdID, nil)
	}
}

// refuse answers r with an error status.
func (s *Server) refuse(r *smpp.Request, st pdu.Status) {
	s.stats.Refused.Add(1)
	r.Respond(st, nil)
}

func (s *Server) submitSM(c *client, r *smpp.Request, b *pdu.SubmitSM) {
	if !s.allow(c.user, 1) {
		s.refuse(r, pdu.StatusThrottled)
		return
	}
	req, part, st := s.request(c, &b.ShortMessage)
	if st != pdu.StatusOK {
		s.refuse(r, st)
		return
	}
	if part != nil {
		c.asm.add(s, c, r, req, part)
		return
	}
	s.enqueue(c.user.AccountID, req, func(res intake.Result, err error) {
		if st := resultStatus(res, err); st != pdu.StatusOK {
			s.refuse(r, st)
			return
		}
		s.stats.Submitted.Add(1)
		r.Respond(pdu.StatusOK, &pdu.SubmitSMResp{MessageID: res.Message.ID})
	})
}

// enqueue hands a request to the batcher (blocking the session's reader
// while the batcher is full: back-pressure on the client).
// While the server shuts down it refuses at once.
func (s *Server) enqueue(account string, req intake.Request, done func(intake.Result, error)) {
	if !s.beginSubmit() {
		done(intake.Result{}, errShutdown)
		return
	}
	sub := &submission{account: account, req: req, done: func(res intake.Result, err error) {
		done(res, err)
		s.endSubmit()
	}}
	select {
	case s.subs <- sub:
	case <-s.ctx.Done():
		sub.done(intake.Result{}, errShutdown)
	}
}

// request turns a submit_sm into an intake request. A part of a long
// message (UDH concatenation or SAR TLVs) is returned with its place in
// the whole, its text decoded.
func (s *Server) request(c *client, m *pdu.ShortMessage) (intake.Request, *partInfo, pdu.Status) {
	req := intake.Request{
		From: destination(m.Source), // an international sender is registered with its +
		To:   destination(m.Dest),
		SMPP: &store.SMPPSource{UserID: c.user.ID, RegisteredDelivery: m.RegisteredDelivery},
	}
	if m.ScheduleDeliveryTime != "" {
		at, err := parseSMPPTime(m.ScheduleDeliveryTime, s.o.Now())
		if err != nil {
			return req, nil, pdu.StatusInvSched
		}
		if at.After(s.o.Now()) {
			req.SendAt = &at
		}
	}
	if m.ValidityPeriod != "" {
		at, err := parseSMPPTime(m.ValidityPeriod, s.o.Now())
		if err != nil {
			return req, nil, pdu.StatusInvExpiry
		}
		start := s.o.Now()
		if req.SendAt != nil {
			start = *req.SendAt
		}
		secs := int(at.Sub(start) / time.Second)
		req.ValidityPeriod = max(secs, 1)
	}
	data := m.Payload()
	d, err := smstext.Decode(data, m.DataCoding, m.UDHI(), smstext.DecodeOptions{})
	switch {
	case errors.Is(err, smstext.ErrUnsupportedDataCoding):
		return req, nil, pdu.StatusSubmitFail
	case err != nil:
		return req, nil, pdu.StatusInvEsmClass
	case d.Encoding == smstext.Binary:
		return req, nil, pdu.StatusSubmitFail
	}
	req.Body = d.Text
	if d.UDH != nil {
		if ci := d.UDH.Concat; ci != nil && ci.Total > 1 {
			return req, &partInfo{ref: ci.Ref, total: int(ci.Total), seq: int(ci.Seq)}, pdu.StatusOK
		}
	}
	if ref, ok := m.TLVs.Uint16(pdu.TagSarMsgRefNum); ok {
		total, _ := m.TLVs.Uint8(pdu.TagSarTotalSegments)
		seq, _ := m.TLVs.Uint8(pdu.TagSarSegmentSeqnum)
		if total > 1 {
			return req, &partInfo{ref: ref, total: int(total), seq: int(seq)}, pdu.StatusOK
		}
	}
	return req, nil, pdu.StatusOK
}

// destination writes an address (destination or source) as the intake
// reads it: an international (TON 1) number gets its +.
func destination(a pdu.Address) string {
	addr := strings.TrimSpace(a.Addr)
	if a.TON == 1 && addr != "" && !strings.HasPrefix(addr, "+") {
		return "+" + addr
	}
	return addr
}

// batchLoop collects submissions from every session and hands them to
// the intake in batches: one call (one savepoint, multi-row inserts) per
// account and batch, up to Flushes in flight; the store commits
// concurrent calls together. While the flushes are busy, submissions
// accumulate, so batches grow with the load and need no timer.
func (s *Server) batchLoop() {
	sem := make(chan struct{}, s.o.Flushes)
	for {
		select {
		case sem <- struct{}{}:
		case <-s.ctx.Done():
			s.drainSubs()
			return
		}
		var first *submission
		select {
		case first = <-s.subs:
		case <-s.ctx.Done():
			<-sem
			s.drainSubs()
			return
		}
		batch := []*submission{first}
	fill:
		for len(batch) < s.o.MaxBatch {
			select {
			case sub := <-s.subs:
				batch = append(batch, sub)
			default:
				break fill
			}
		}
		s.wg.Go(func() {
			defer func() { <-sem }()
			s.flush(batch)
		})
	}
}

// drainSubs refuses what is left at shutdown (nothing of it was stored).
func (s *Server) drainSubs() {
	for {
		select {
		case sub := <-s.subs:
			sub.done(intake.Result{}, errShutdown)
		default:
			return
		}
	}
}

// flush submits one batch, grouped by account.
func (s *Server) flush(batch []*submission) {
	// Once handed to the intake a batch is committed or refused whatever
	// happens to the server: the clients must learn which.
	ctx := context.WithoutCancel(s.ctx)
	byAccount := map[string][]*submission{}
	var order []string
	for _, sub := range batch {
		if byAccount[sub.account] == nil {
			order = append(order, sub.account)
		}
		byAccount[sub.account] = append(byAccount[sub.account], sub)
	}
	for _, acc := range order {
		subs := byAccount[acc]
		reqs := make([]intake.Request, len(subs))
		for i, sub := range subs {
			reqs[i] = sub.req
		}
		res, err := s.o.Intake.Submit(ctx, acc, reqs, intake.Idempotency{}, true)
		for i, sub := range subs {
			if err != nil {
				sub.done(intake.Result{}, err)
				continue
			}
			sub.done(res[i], nil)
		}
	}
}

// resultStatus maps an intake outcome to a command_status.
func resultStatus(res intake.Result, err error) pdu.Status {
	if err == nil {
		err = res.Err
	}
	if err == nil {
		if res.Message == nil {
			return pdu.StatusSysErr
		}
		return pdu.StatusOK
	}
	return ErrorStatus(err)
}

// ErrorStatus maps a Herald error to the command_status a client gets
// (the table in docs/smpp-server.md).
func ErrorStatus(err error) pdu.Status {
	if errors.Is(err, errShutdown) {
		return pdu.StatusSysErr
	}
	var he *herald.Error
	if !errors.As(err, &he) {
		return pdu.StatusSysErr
	}
	switch he.Code {
	case "invalid_phone_number", "no_route":
		return pdu.StatusInvDstAdr
	case "invalid_sender", "sender_not_allowed":
		return pdu.StatusInvSrcAdr
	case "empty_body", "invalid_body", "body_too_long":
		return pdu.StatusInvMsgLen
	case "invalid_validity_period":
		return pdu.StatusInvExpiry
	case "invalid_send_at":
		return pdu.StatusInvSched
	case "recipient_opted_out":
		return pdu.StatusXRAppn
	}
	switch he.Kind {
	case herald.KindRateLimited:
		return pdu.StatusThrottled
	case herald.KindOptedOut:
		return pdu.StatusXRAppn
	case herald.KindForbidden:
		if he.Field == "from" {
			return pdu.StatusInvSrcAdr
		}
		return pdu.StatusXPAppn
	case herald.KindInvalid, herald.KindPermanent:
		return pdu.StatusSubmitFail
	case herald.KindNotFound:
		return pdu.StatusInvMsgID
	case herald.KindTransient, herald.KindInternal:
		return pdu.StatusSysErr
	}
	return pdu.StatusSysErr
}

// submitMulti submits one message per destination. The response carries
// the first accepted destination's message id; refused destinations are
// listed as unsuccessful with their status. Distribution lists are not
// supported (ESME_RINVDLNAME).
func (s *Server) submitMulti(c *client, r *smpp.Request, b *pdu.SubmitMulti) {
	if len(b.Dests) == 0 || len(b.Dests) > 255 {
		s.refuse(r, pdu.StatusInvNumDests)
		return
	}
	if !s.allow(c.user, len(b.Dests)) {
		s.refuse(r, pdu.StatusThrottled)
		return
	}
	sm := pdu.ShortMessage{ServiceType: b.ServiceType, Source: b.Source, ESMClass: b.ESMClass, ProtocolID: b.ProtocolID,
		PriorityFlag: b.PriorityFlag, ScheduleDeliveryTime: b.ScheduleDeliveryTime, ValidityPeriod: b.ValidityPeriod,
		RegisteredDelivery: b.RegisteredDelivery, DataCoding: b.DataCoding, Message: b.Message, TLVs: b.TLVs}
	type outcome struct {
		id string
		st pdu.Status
	}
	outs := make([]outcome, len(b.Dests))
	pending := len(b.Dests)
	var reqs []int
	for i, d := range b.Dests {
		if d.DistList != "" {
			outs[i].st = pdu.StatusInvDLName
			pending--
			continue
		}
		reqs = append(reqs, i)
	}
	answer := func() {
		resp := &pdu.SubmitMultiResp{}
		for i, o := range outs {
			if o.st == pdu.StatusOK && resp.MessageID == "" {
				resp.MessageID = o.id
			}
			if o.st != pdu.StatusOK {
				resp.Unsuccess = append(resp.Unsuccess, pdu.UnsuccessSME{Address: b.Dests[i].Address, Status: o.st})
			}
		}
		if resp.MessageID == "" {
			s.refuse(r, pdu.StatusSubmitFail)
			return
		}
		s.stats.Submitted.Add(uint64(len(outs) - len(resp.Unsuccess)))
		r.Respond(pdu.StatusOK, resp)
	}
	if len(reqs) == 0 {
		answer()
		return
	}
	var mu = make(chan struct{}, 1)
	for _, i := range reqs {
		sm.Dest = b.Dests[i].Address
		req, part, st := s.request(c, &sm)
		if st == pdu.StatusOK && part != nil {
			st = pdu.StatusInvEsmClass // long messages in parts: submit_sm only
		}
		if st != pdu.StatusOK {
			mu <- struct{}{}
			outs[i].st = st
			pending--
			last := pending == 0
			<-mu
			if last {
				answer()
			}
			continue
		}
		s.enqueue(c.user.AccountID, req, func(res intake.Result, err error) {
			mu <- struct{}{}
			outs[i].st = resultStatus(res, err)
			if outs[i].st == pdu.StatusOK {
				outs[i].id = res.Message.ID
			}
			pending--
			last := pending == 0
			<-mu
			if last {
				answer()
			}
		})
	}
}
