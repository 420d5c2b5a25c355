package smscsim

import (
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// message holds the fields of a submit_sm or data_sm the simulator uses.
type message struct {
	src, dst           pdu.Address
	esmClass           uint8
	registeredDelivery uint8
	dataCoding         uint8
	payload            []byte
	tlvs               pdu.TLVs
	data               bool // data_sm: answer with data_sm_resp
}

// serve is the smpp.Handler of every bind. It runs on the session's
// reader goroutine and answers inline (or schedules the answer when
// there is a response delay): no goroutine or allocation beyond the
// response per submit, unless a receipt is wanted, and one short lock
// (peakRate, for Stats.MaxSubmitsPerSecond).
func (sim *Simulator) serve(r *smpp.Request) {
	switch b := r.Body.(type) {
	case *pdu.SubmitSM:
		sim.submit(r, &message{
			src:                b.Source,
			dst:                b.Dest,
			esmClass:           b.ESMClass,
			registeredDelivery: b.RegisteredDelivery,
			dataCoding:         b.DataCoding,
			payload:            b.Payload(),
			tlvs:               b.TLVs,
		})
	case *pdu.DataSM:
		payload, _ := b.TLVs.Get(pdu.TagMessagePayload)
		sim.submit(r, &message{
			src:                b.Source,
			dst:                b.Dest,
			esmClass:           b.ESMClass,
			registeredDelivery: b.RegisteredDelivery,
			dataCoding:         b.DataCoding,
			payload:            payload,
			tlvs:               b.TLVs,
			data:               true,
		})
	default:
		// query_sm, cancel_sm, replace_sm, submit_multi, deliver_sm ...
		sim.stats.unsupported.Add(1)
		r.Respond(pdu.StatusInvCmdID, nil)
	}
}

// submit answers one submit_sm or data_sm and creates its receipt. The
// counters are updated before the response is queued, so that an ESME
// that has its response sees them in Stats.
func (sim *Simulator) submit(r *smpp.Request, m *message) {
	n := sim.stats.submits.Add(1) // the submit's index for the draws
	sim.peak.add(time.Since(sim.epoch))
	if part, first := concatPart(m); part {
		sim.stats.submitParts.Add(1)
		if first {
			sim.stats.messages.Add(1)
		}
	} else {
		sim.stats.messages.Add(1)
	}
	var respDelay time.Duration
	var now time.Time // read only when a delay or a receipt needs it
	if sim.opts.ResponseDelay.Max > 0 {
		respDelay = sim.opts.ResponseDelay.at(sim.draw(n, saltResponseDelay))
		now = time.Now()
	}

	if sim.rate.on.Load() && !sim.rate.allow(time.Now()) {
		sim.stats.rateThrottled.Add(1)
		sim.respond(r, now, respDelay, pdu.StatusThrottled, nil)
		return
	}
	if i := sim.drawError(n); i >= 0 {
		sim.stats.responses[i+1].Add(1)
		sim.respond(r, now, respDelay, sim.opts.Errors[i].Status, nil)
		return
	}

	seq := sim.stats.responses[0].Add(1) // the message's index, from 1
	id := sim.firstID + seq - 1
	var resp pdu.Body
	if m.data {
		resp = &pdu.DataSMResp{MessageID: formatID(sim.opts.IDFormat, id)}
	} else {
		resp = &pdu.SubmitSMResp{MessageID: formatID(sim.opts.IDFormat, id)}
	}
	var rc *receipt
	if m.registeredDelivery&0x03 != 0 {
		if now.IsZero() {
			now = time.Now()
		}
		rc = sim.newReceipt(seq, id, r.Session, m, now)
	}
	if sim.opts.OnSubmit != nil {
		if now.IsZero() {
			now = time.Now()
		}
		sim.opts.OnSubmit(Submitted{Source: m.src, Dest: m.dst, DataCoding: m.dataCoding, Content: m.payload,
			MessageID: formatID(sim.opts.IDFormat, id), At: now, Session: r.Session})
	}
	sim.respond(r, now, respDelay, pdu.StatusOK, resp)

	if rc == nil {
		return
	}
	delay := respDelay
	if sim.opts.ReceiptDelay.Max > 0 {
		delay += sim.opts.ReceiptDelay.at(sim.draw(seq, saltReceiptDelay))
	}
	if delay == 0 {
		rc.done = now
		rc.acct.route(rc)
		return
	}
	sim.sched.at(now.Add(delay), rc)
}

// respond answers r at once, or at now+delay through the scheduler. A
// receipt scheduled for the same time or later fires after it.
func (sim *Simulator) respond(r *smpp.Request, now time.Time, delay time.Duration, status pdu.Status, body pdu.Body) {
	if delay == 0 {
		r.Respond(status, body)
		return
	}
	sim.sched.at(now.Add(delay), &delayedResponse{r: r, status: status, body: body})
}

// delayedResponse is a submit response waiting for Options.ResponseDelay.
type delayedResponse struct {
	r      *smpp.Request
	status pdu.Status
	body   pdu.Body
}

func (d *delayedResponse) fire(time.Time) { d.r.Respond(d.status, d.body) }

// drawError returns the index in Options.Errors of the error submit n is
// refused with, or -1.
func (sim *Simulator) drawError(n uint64) int {
	if len(sim.errCum) == 0 {
		return -1
	}
	u := unit(sim.draw(n, saltError))
	for i, c := range sim.errCum {
		if u < c {
			return i
		}
	}
	return -1
}

// concatPart reports whether m is one part of a concatenated message,
// by its SAR TLVs or a concatenation element in its UDH, and whether it
// is the first part.
func concatPart(m *message) (part, first bool) {
	if len(m.tlvs) > 0 {
		if total, ok := m.tlvs.Uint8(pdu.TagSarTotalSegments); ok && total > 1 {
			seq, _ := m.tlvs.Uint8(pdu.TagSarSegmentSeqnum)
			return true, seq == 1
		}
	}
	if m.esmClass&pdu.ESMClassUDHI == 0 || len(m.payload) == 0 {
		return false, false
	}
	n := int(m.payload[0])
	if 1+n > len(m.payload) {
		return false, false
	}
	h := m.payload[1 : 1+n]
	for i := 0; i+2 <= len(h); {
		id, l := h[i], int(h[i+1])
		if i+2+l > len(h) {
			break
		}
		d := h[i+2 : i+2+l]
		switch {
		case id == 0x00 && l == 3 && d[1] > 1: // 8-bit reference
			return true, d[2] == 1
		case id == 0x08 && l == 4 && d[2] > 1: // 16-bit reference
			return true, d[3] == 1
		}
		i += 2 + l
	}
	return false, false
}

// Salts keep the draws of one submit or message independent.
const (
	saltError uint64 = iota + 1
	saltResponseDelay
	saltState
	saltReceiptDelay
)

// draw returns a pseudo-random 64-bit value that depends only on the
// seed, n and salt (SplitMix64), so draws need no lock and no shared
// generator, and a seed reproduces them.
func (sim *Simulator) draw(n, salt uint64) uint64 {
	return mix64(sim.seed ^ mix64(n*0x9E3779B97F4A7C15+salt))
}

func mix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// unit maps x to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }
