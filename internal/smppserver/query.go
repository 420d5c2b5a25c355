package smppserver

import (
	"fmt"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// querySM answers query_sm with the message's state from the store.
func (s *Server) querySM(c *client, r *smpp.Request, q *pdu.QuerySM) {
	m, err := s.o.Store.Message(s.ctx, c.user.AccountID, q.MessageID, false)
	if err != nil {
		if herald.ErrorKind(err) == herald.KindNotFound {
			s.refuse(r, pdu.StatusInvMsgID)
		} else {
			s.refuse(r, pdu.StatusQueryFail)
		}
		return
	}
	resp := &pdu.QuerySMResp{MessageID: m.ID, MessageState: MessageState(m.Status).MessageState()}
	if m.Status.Final() {
		resp.FinalDate = smppTime(m.UpdatedAt)
	}
	r.Respond(pdu.StatusOK, resp)
}

// cancelSM cancels one message by id, if it has not been sent yet.
// Cancelling by source and destination (without an id) is not supported.
func (s *Server) cancelSM(c *client, r *smpp.Request, q *pdu.CancelSM) {
	if q.MessageID == "" {
		s.refuse(r, pdu.StatusCancelFail)
		return
	}
	_, err := s.o.Intake.Cancel(s.ctx, c.user.AccountID, q.MessageID)
	switch herald.ErrorKind(err) {
	case herald.KindInternal:
		if err == nil {
			r.Respond(pdu.StatusOK, nil)
			return
		}
		s.refuse(r, pdu.StatusSysErr)
	case herald.KindNotFound:
		s.refuse(r, pdu.StatusInvMsgID)
	case herald.KindTransient:
		s.refuse(r, pdu.StatusSysErr)
	default:
		s.refuse(r, pdu.StatusCancelFail)
	}
}

// MessageState maps a Herald status to the SMPP message state used in
// query_sm_resp and receipts.
func MessageState(st herald.Status) dlr.State {
	switch st {
	case herald.StatusDelivered:
		return dlr.StateDelivered
	case herald.StatusExpired:
		return dlr.StateExpired
	case herald.StatusCanceled:
		return dlr.StateDeleted
	case herald.StatusUndelivered, herald.StatusFailed:
		return dlr.StateUndeliverable
	case herald.StatusRejected:
		return dlr.StateRejected
	case herald.StatusUnknown:
		return dlr.StateUnknown
	}
	return dlr.StateEnroute
}

// smppTime writes t in the SMPP absolute time format, in UTC.
func smppTime(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%02d%02d%02d%02d%02d%02d%d00+", t.Year()%100, int(t.Month()), t.Day(), t.Hour(), t.Minute(),
		t.Second(), t.Nanosecond()/100_000_000)
}

// parseSMPPTime reads an SMPP time (SMPP 3.4 §7.1.1): absolute
// "YYMMDDhhmmsstnnp" with p '+' or '-' (nn quarter hours from UTC), or
// relative "YYMMDDhhmmss000R" from now.
func parseSMPPTime(v string, now time.Time) (time.Time, error) {
	if len(v) != 16 || strings.Trim(v[:15], "0123456789") != "" {
		return time.Time{}, fmt.Errorf("smpp time %q: want 16 characters", v)
	}
	n := func(i int) int { return int(v[i]-'0')*10 + int(v[i+1]-'0') }
	switch v[15] {
	case 'R':
		return now.AddDate(n(0), n(2), n(4)).Add(time.Duration(n(6))*time.Hour + time.Duration(n(8))*time.Minute +
			time.Duration(n(10))*time.Second), nil
	case '+', '-':
		off := time.Duration(n(13)) * 15 * time.Minute
		if v[15] == '-' {
			off = -off
		}
		t := time.Date(2000+n(0), time.Month(n(2)), n(4), n(6), n(8), n(10), int(v[12]-'0')*100_000_000, time.UTC)
		if t.Month() != time.Month(n(2)) || n(2) == 0 || n(4) == 0 {
			return time.Time{}, fmt.Errorf("smpp time %q: no such date", v)
		}
		return t.Add(-off), nil
	}
	return time.Time{}, fmt.Errorf("smpp time %q: last character must be R, + or -", v)
}
