// Package smpp runs SMPP 3.4 sessions over any net.Conn, in both roles:
// an ESME (client) that binds to an SMSC, and an SMSC (server) that accepts
// binds.
//
// A [Session] has exactly one reader and one writer goroutine. Requests
// are matched to responses by sequence number; at most Config.Window
// requests are outstanding at once, and a sender that finds the window full
// waits for a slot or for its context, so nothing is dropped for lack of
// room. Responses that do not arrive within Config.ResponseTimeout complete
// with [ErrResponseTimeout]. When no PDU has arrived for
// Config.EnquireLinkInterval the session sends enquire_link, and when the
// peer stays silent for the interval plus the response timeout it is
// declared dead and the connection is closed.
//
// When a link breaks, every request still outstanding is handed back to its
// sender through its [Response], with an error that says whether it may
// have reached the peer ([ErrUnacknowledged]) or certainly did not
// ([ErrNotSent]): a caller can resend the latter without risk of a
// duplicate and count the former.
//
// [Client] keeps one bind up, reconnecting with capped exponential backoff
// and jitter. [Server] accepts binds, authenticates them through a hook
// and shuts down cleanly. The package imports nothing else of Herald's.
package smpp
