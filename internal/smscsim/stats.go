package smscsim

import (
	"sync/atomic"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// Stats is a snapshot of a Simulator's counters since it started (the
// two peaks: since it started or since the last ResetPeaks). The
// counters are read one by one, not under a lock, so a snapshot taken
// under load may be a few messages out of step between fields.
type Stats struct {
	Binds        uint64 `json:"binds"`         // binds accepted
	BindsRefused uint64 `json:"binds_refused"` // binds refused (wrong system_id or password)
	Sessions     int64  `json:"sessions"`      // binds up now
	// MaxSessions is the largest number of binds up at the same time
	// since start (or the last ResetPeaks). A bind counts from when the
	// simulator registers it, right after it queues the bind_resp, until
	// the simulator sees its session end (unbind, close or broken link).
	MaxSessions int64 `json:"max_sessions"`

	Submits     uint64 `json:"submits"`      // submit_sm and data_sm received
	SubmitParts uint64 `json:"submit_parts"` // of which parts of concatenated messages (UDH or SAR)
	Messages    uint64 `json:"messages"`     // single-part submits plus the first part of each concatenated one
	// MaxSubmitsPerSecond is the largest number of submit_sm and data_sm
	// received (whatever they were answered) within one second since
	// start (or the last ResetPeaks), over every bind together. Windows
	// are aligned to the millisecond: it is exact for windows that start
	// on a whole millisecond after the first submit, and an arbitrary
	// one-second window held at most this plus one millisecond's submits.
	MaxSubmitsPerSecond uint64 `json:"max_submits_per_second"`
	// Responses counts submit responses by command_status name
	// ("ESME_ROK", "ESME_RTHROTTLED", ...).
	Responses map[string]uint64 `json:"responses"`
	// WindowThrottled counts requests the sessions refused with
	// ESME_RTHROTTLED because a bind exceeded its inbound window (these
	// never reach the simulator and are not in Responses or Submits).
	WindowThrottled uint64 `json:"window_throttled"`
	Unsupported     uint64 `json:"unsupported"` // requests answered ESME_RINVCMDID (query_sm, cancel_sm, ...)
	// RateThrottled counts submits answered ESME_RTHROTTLED because they
	// exceeded Options.MaxRate (also counted in Responses).
	RateThrottled uint64 `json:"rate_throttled"`

	ReceiptsQueued  uint64 `json:"receipts_queued"`  // receipts created
	ReceiptsSent    uint64 `json:"receipts_sent"`    // deliver_sm receipts written, retries included
	ReceiptsAcked   uint64 `json:"receipts_acked"`   // answered with ESME_ROK
	ReceiptsFailed  uint64 `json:"receipts_failed"`  // answered with an error, timed out or lost with the link
	ReceiptsRetried uint64 `json:"receipts_retried"` // failed receipts scheduled again
	ReceiptsDropped uint64 `json:"receipts_dropped"` // not created because MaxPendingReceipts was reached
	ReceiptsPending int64  `json:"receipts_pending"` // held now: waiting for their time, a receiver, a response or a retry

	MOSent   uint64 `json:"mo_sent"`   // injected messages acknowledged by the ESME (all parts)
	MOParts  uint64 `json:"mo_parts"`  // deliver_sm parts of injected messages acknowledged
	MOFailed uint64 `json:"mo_failed"` // injected messages refused, timed out or without a receiver
}

// counters are the live counters behind Stats.
type counters struct {
	binds, bindsRefused              atomic.Uint64
	sessions, maxSessions            atomic.Int64
	submits, submitParts, messages   atomic.Uint64
	unsupported, windowThrottled     atomic.Uint64
	rateThrottled                    atomic.Uint64
	receiptsQueued, receiptsSent     atomic.Uint64
	receiptsAcked, receiptsFailed    atomic.Uint64
	receiptsRetried, receiptsDropped atomic.Uint64
	receiptsPending                  atomic.Int64
	moSent, moParts, moFailed        atomic.Uint64
	// responses[0] counts ESME_ROK (and so numbers the messages: ids are
	// firstID+n-1), responses[i+1] Options.Errors[i].
	responses []atomic.Uint64
}

// Stats returns a snapshot of the counters. It is safe to call at any
// time from any goroutine.
func (sim *Simulator) Stats() Stats {
	c := &sim.stats
	st := Stats{
		Binds:               c.binds.Load(),
		BindsRefused:        c.bindsRefused.Load(),
		Sessions:            c.sessions.Load(),
		MaxSessions:         c.maxSessions.Load(),
		Submits:             c.submits.Load(),
		SubmitParts:         c.submitParts.Load(),
		Messages:            c.messages.Load(),
		MaxSubmitsPerSecond: sim.peak.peak(),
		Responses:           map[string]uint64{},
		WindowThrottled:     c.windowThrottled.Load(),
		Unsupported:         c.unsupported.Load(),
		RateThrottled:       c.rateThrottled.Load(),
		ReceiptsQueued:      c.receiptsQueued.Load(),
		ReceiptsSent:        c.receiptsSent.Load(),
		ReceiptsAcked:       c.receiptsAcked.Load(),
		ReceiptsFailed:      c.receiptsFailed.Load(),
		ReceiptsRetried:     c.receiptsRetried.Load(),
		ReceiptsDropped:     c.receiptsDropped.Load(),
		ReceiptsPending:     c.receiptsPending.Load(),
		MOSent:              c.moSent.Load(),
		MOParts:             c.moParts.Load(),
		MOFailed:            c.moFailed.Load(),
	}
	for i := range c.responses {
		n := c.responses[i].Load()
		if n == 0 && i > 0 {
			continue
		}
		status := pdu.StatusOK
		if i > 0 {
			status = sim.opts.Errors[i-1].Status
		}
		st.Responses[status.String()] += n
	}
	if st.RateThrottled > 0 {
		st.Responses[pdu.StatusThrottled.String()] += st.RateThrottled
	}
	sim.sessions.Range(func(k, _ any) bool {
		st.WindowThrottled += k.(*smpp.Session).Stats().Throttled
		return true
	})
	return st
}
