package smscsim

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smstext"
)

// MO is a mobile-originated message to inject.
type MO struct {
	From string // the handset's number ("+447700900123" or "447700900123")
	To   string // the number or short code it was sent to
	Text string
	// SystemID, when set, delivers only to a receiver bound with this
	// system_id; otherwise any bound receiver takes it.
	SystemID string
	// Reverse sends the parts of a concatenated message last first, and
	// Spread sends each part on the next receiver bind (round robin), to
	// test reassembly. Concat picks the concatenation method (default
	// 8-bit UDH; udh16 and SAR TLVs also work).
	Reverse bool
	Spread  bool
	Concat  smstext.ConcatMethod
}

// MOResult says where an injected MO went.
type MOResult struct {
	SystemID string `json:"system_id"` // of the bind that received it
	Parts    int    `json:"parts"`     // deliver_sm sent
}

// Errors of Inject.
var (
	// ErrNoReceiver: no receiver or transceiver is bound (with the
	// requested system_id). MOs are not queued.
	ErrNoReceiver = errors.New("smscsim: no receiver bound")
	// ErrInvalidMO: the MO lacks From or To, or its text cannot be sent.
	ErrInvalidMO = errors.New("smscsim: invalid mo")
)

// Inject sends mo to a bound receiver as one deliver_sm, or several with
// a concatenation UDH when the text needs more than one part. The text
// is GSM 7-bit (data_coding 0, one septet per octet) when it fits, else
// UCS-2 (data_coding 8). Inject returns once the ESME has answered every
// part: an error wrapping ErrNoReceiver when nobody is bound, the
// command_status (a pdu.Status) when the ESME refused a part, or the
// link's or ctx's error. MOs are not queued for later.
func (sim *Simulator) Inject(ctx context.Context, mo MO) (MOResult, error) {
	if mo.From == "" || mo.To == "" {
		sim.stats.moFailed.Add(1)
		return MOResult{}, fmt.Errorf("%w: from and to are required", ErrInvalidMO)
	}
	ref := uint16(uint8(sim.nextRef.Add(1)))
	segs, err := smstext.Split(mo.Text, smstext.Options{Ref: ref, Concat: mo.Concat})
	if err != nil {
		sim.stats.moFailed.Add(1)
		return MOResult{}, fmt.Errorf("%w: %w", ErrInvalidMO, err)
	}
	s := sim.receiver(mo.SystemID)
	if s == nil {
		sim.stats.moFailed.Add(1)
		if mo.SystemID != "" {
			return MOResult{}, fmt.Errorf("%w with system_id %q", ErrNoReceiver, mo.SystemID)
		}
		return MOResult{}, ErrNoReceiver
	}
	res := MOResult{SystemID: s.SystemID()}
	if mo.Reverse {
		slices.Reverse(segs)
	}
	for i, seg := range segs {
		if mo.Spread && i > 0 {
			if next := sim.receiver(s.SystemID()); next != nil {
				s = next
			}
		}
		d := &pdu.DeliverSM{ShortMessage: pdu.ShortMessage{
			Source:     moAddress(mo.From),
			Dest:       moAddress(mo.To),
			DataCoding: seg.DataCoding,
			Message:    seg.ShortMessage,
		}}
		if seg.UDHI {
			d.ESMClass |= pdu.ESMClassUDHI
		}
		if seg.SAR != nil {
			d.TLVs.SetUint16(pdu.TagSarMsgRefNum, seg.SAR.Ref)
			d.TLVs.SetUint8(pdu.TagSarTotalSegments, seg.SAR.Total)
			d.TLVs.SetUint8(pdu.TagSarSegmentSeqnum, seg.SAR.Seq)
		}
		resp, err := s.Send(ctx, d)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			sim.stats.moFailed.Add(1)
			return res, fmt.Errorf("smscsim: mo part %d/%d to %s: %w", i+1, len(segs), res.SystemID, err)
		}
		sim.stats.moParts.Add(1)
		res.Parts++
	}
	sim.stats.moSent.Add(1)
	return res, nil
}

// receiver picks a bound receiver of systemID, or of any system_id when
// it is empty.
func (sim *Simulator) receiver(systemID string) *smpp.Session {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if systemID != "" {
		if a := sim.accounts[systemID]; a != nil {
			return a.receiver()
		}
		return nil
	}
	for _, a := range sim.accounts {
		if s := a.receiver(); s != nil {
			return s
		}
	}
	return nil
}

// moAddress gives an MO address its TON and NPI: international for
// "+digits", unknown/ISDN for digits, alphanumeric otherwise.
func moAddress(s string) pdu.Address {
	digits := s
	international := len(s) > 1 && s[0] == '+'
	if international {
		digits = s[1:]
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return pdu.Address{TON: 5, NPI: 0, Addr: s}
		}
	}
	if international {
		return pdu.Address{TON: 1, NPI: 1, Addr: digits}
	}
	return pdu.Address{TON: 0, NPI: 1, Addr: digits}
}
