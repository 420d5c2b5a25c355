package smpp

import (
	"io"
	"log/slog"
	"time"

	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// Config holds the session parameters shared by clients and servers. The
// zero value is usable: every zero field takes the default named in its
// comment.
type Config struct {
	// Window is the number of requests this side may have outstanding
	// (sent, response not yet received). Default 10.
	Window int
	// InboundWindow is the number of the peer's requests this side keeps
	// unanswered at once; beyond it, requests are answered with
	// ESME_RTHROTTLED. Default 1000.
	InboundWindow int
	// ResponseTimeout bounds the wait for a response. Default 30s.
	ResponseTimeout time.Duration
	// EnquireLinkInterval is the silence after which enquire_link is sent.
	// The peer is declared dead after EnquireLinkInterval+ResponseTimeout
	// without any PDU from it. Default 30s.
	EnquireLinkInterval time.Duration
	// WriteTimeout bounds one write to the connection. Default
	// ResponseTimeout.
	WriteTimeout time.Duration
	// MaxPDULength caps command_length of received PDUs. Default pdu.MaxLength.
	MaxPDULength uint32
	// Logger receives session events (binds, timeouts, dead peers). It
	// never logs message content or passwords. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = 10
	}
	if c.InboundWindow <= 0 {
		c.InboundWindow = 1000
	}
	if c.ResponseTimeout <= 0 {
		c.ResponseTimeout = 30 * time.Second
	}
	if c.EnquireLinkInterval <= 0 {
		c.EnquireLinkInterval = 30 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = c.ResponseTimeout
	}
	if c.MaxPDULength == 0 {
		c.MaxPDULength = pdu.MaxLength
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// tick is how often the writer checks timers: a quarter of the shortest
// timer, between 5ms and 1s.
func (c Config) tick() time.Duration {
	t := min(c.ResponseTimeout, c.EnquireLinkInterval) / 4
	return max(min(t, time.Second), 5*time.Millisecond)
}
