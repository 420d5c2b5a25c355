package smpp

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// Errors reported by sessions. Test them with errors.Is: a Response.Err
// may match several (a timeout is also unacknowledged).
var (
	// ErrClosed: the session is closed or unbinding and takes no new requests.
	ErrClosed = errors.New("smpp: session closed")
	// ErrNotSent: the request was never written to the connection; it can
	// be resent elsewhere without risk of a duplicate.
	ErrNotSent = errors.New("smpp: request not sent")
	// ErrUnacknowledged: the request was written but no response arrived;
	// the peer may or may not have acted on it.
	ErrUnacknowledged = errors.New("smpp: request sent but not acknowledged")
	// ErrResponseTimeout: no response within Config.ResponseTimeout.
	ErrResponseTimeout = errors.New("smpp: response timeout")
	// ErrDeadPeer: the peer sent nothing, not even enquire_link_resp, for
	// EnquireLinkInterval+ResponseTimeout.
	ErrDeadPeer = errors.New("smpp: peer not responding")
	// ErrUnbound: the session ended through unbind, from either side.
	ErrUnbound = errors.New("smpp: session unbound")
	// ErrNotBound: the request needs a bound session.
	ErrNotBound = errors.New("smpp: session not bound")
)

// Response is the outcome of one request. Request is the body as it was
// sent, handed back so that a caller can resend it after a failure.
type Response struct {
	Request pdu.Body
	Seq     uint32     // sequence number the request was sent with
	Header  pdu.Header // header of the response; zero when none arrived
	Body    pdu.Body   // decoded response; nil when Err is set
	Err     error      // transport failure; nil when a response arrived
}

// Status returns the response's command_status (ESME_ROK when none arrived).
func (r Response) Status() pdu.Status { return r.Header.Status }

// Error returns the transport error, or the command_status as an error
// when the peer answered with a failure, or nil.
func (r Response) Error() error {
	if r.Err != nil {
		return r.Err
	}
	if r.Header.Status != pdu.StatusOK {
		return r.Header.Status
	}
	return nil
}

// A Handler serves the requests a peer sends: deliver_sm on an ESME,
// submit_sm and the rest on an SMSC. ServeSMPP is called on the session's
// reader goroutine, one request at a time, and must not block for long:
// it may answer at once with r.Respond or hand r to another goroutine and
// answer later. Every request that has a response must be answered exactly
// once; until then it counts against Config.InboundWindow.
//
// enquire_link, unbind and binds are answered by the session itself and
// never reach the Handler.
type Handler interface {
	ServeSMPP(r *Request)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(r *Request)

// ServeSMPP calls f(r).
func (f HandlerFunc) ServeSMPP(r *Request) { f(r) }

// Request is a request received from the peer.
type Request struct {
	Header  pdu.Header
	Body    pdu.Body
	Session *Session

	answered atomic.Bool
}

// ErrAnswered is returned by Respond on a request already answered.
var ErrAnswered = errors.New("smpp: request already answered")

// Respond answers the request with status and body. A nil body sends the
// empty response of the right type (as for an error status). Requests
// without a response (outbind, alert_notification) need no call; Respond
// on them does nothing. Respond is safe to call from any goroutine; it
// returns ErrClosed when the session has ended.
func (r *Request) Respond(status pdu.Status, body pdu.Body) error {
	want := r.Header.Command.Response()
	if want == pdu.GenericNackID {
		return nil
	}
	if body == nil {
		body = pdu.NewBody(want)
	}
	if body.CommandID() != want {
		return fmt.Errorf("smpp: %s cannot answer %s", body.CommandID(), r.Header.Command)
	}
	if !r.answered.CompareAndSwap(false, true) {
		return ErrAnswered
	}
	r.Session.inbound.Add(-1)
	return r.Session.respond(r.Header.Seq, status, body, nil)
}
