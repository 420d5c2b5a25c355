package herald

// Status is the state of a message or of one of its parts. The state
// machine is documented in docs/states.md.
type Status string

// Message and part states.
const (
	StatusAccepted    Status = "accepted"    // stored; not yet due or routed
	StatusScheduled   Status = "scheduled"   // has a future send_at
	StatusQueued      Status = "queued"      // due, waiting for a lane and a link
	StatusSending     Status = "sending"     // submit_sm may be on the wire, response pending
	StatusSent        Status = "sent"        // the carrier accepted it; carrier id known
	StatusDelivered   Status = "delivered"   // positive receipt
	StatusUndelivered Status = "undelivered" // negative receipt
	StatusExpired     Status = "expired"     // validity passed, before or after submission
	StatusFailed      Status = "failed"      // never accepted by a carrier
	StatusRejected    Status = "rejected"    // refused by policy
	StatusCanceled    Status = "canceled"    // canceled by the client before sending
	StatusUnknown     Status = "unknown"     // no receipt within the receipt window
	StatusReceived    Status = "received"    // inbound message
)

// AllStatuses lists every status, in state-machine order.
var AllStatuses = []Status{
	StatusAccepted, StatusScheduled, StatusQueued, StatusSending, StatusSent,
	StatusDelivered, StatusUndelivered, StatusExpired, StatusFailed,
	StatusRejected, StatusCanceled, StatusUnknown, StatusReceived,
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	for _, v := range AllStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// Final reports whether s is a final state. unknown is final but may
// still be replaced by a late receipt (see CanTransition).
func (s Status) Final() bool {
	switch s {
	case StatusDelivered, StatusUndelivered, StatusExpired, StatusFailed,
		StatusRejected, StatusCanceled, StatusUnknown, StatusReceived:
		return true
	}
	return false
}

// transitions lists the allowed moves. The machine is monotonic: nothing
// leaves a final state except unknown, which a late receipt may resolve,
// and the only step back is sending → queued, taken when the carrier
// refused a submit with a temporary error (so it certainly was not
// accepted) and the part will be retried.
var transitions = map[Status][]Status{
	StatusAccepted:  {StatusScheduled, StatusQueued, StatusRejected, StatusCanceled, StatusExpired, StatusFailed},
	StatusScheduled: {StatusQueued, StatusCanceled, StatusExpired, StatusFailed, StatusRejected},
	StatusQueued:    {StatusSending, StatusCanceled, StatusExpired, StatusFailed, StatusRejected},
	StatusSending:   {StatusSent, StatusQueued, StatusFailed, StatusExpired, StatusDelivered, StatusUndelivered},
	StatusSent:      {StatusDelivered, StatusUndelivered, StatusExpired, StatusUnknown},
	StatusUnknown:   {StatusDelivered, StatusUndelivered, StatusExpired},
}

// CanTransition reports whether a message or part may move from one state
// to another. A receipt may arrive before the submit_sm_resp is recorded,
// so sending may go straight to delivered or undelivered.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// progress orders the pending states for DeriveStatus.
func progress(s Status) int {
	switch s {
	case StatusAccepted:
		return 0
	case StatusScheduled:
		return 1
	case StatusQueued:
		return 2
	case StatusSending:
		return 3
	case StatusSent:
		return 4
	}
	return 5
}

// DeriveStatus computes a message's one status from its parts' states:
//
//   - any part failed → failed (the message cannot arrive whole);
//   - else any part still pending → the least advanced pending state;
//   - else (every part final) the worst outcome, in the order
//     undelivered, expired, unknown, delivered;
//   - canceled and rejected apply to every part at once.
//
// It returns "" for no parts.
func DeriveStatus(parts []Status) Status {
	if len(parts) == 0 {
		return ""
	}
	least := Status("")
	var undelivered, expired, unknown, canceled, rejected bool
	for _, p := range parts {
		switch p {
		case StatusFailed:
			return StatusFailed
		case StatusUndelivered:
			undelivered = true
		case StatusExpired:
			expired = true
		case StatusUnknown:
			unknown = true
		case StatusCanceled:
			canceled = true
		case StatusRejected:
			rejected = true
		case StatusDelivered:
		default:
			if least == "" || progress(p) < progress(least) {
				least = p
			}
		}
	}
	switch {
	case rejected:
		return StatusRejected
	case canceled:
		return StatusCanceled
	case least != "":
		return least
	case undelivered:
		return StatusUndelivered
	case expired:
		return StatusExpired
	case unknown:
		return StatusUnknown
	}
	return StatusDelivered
}
