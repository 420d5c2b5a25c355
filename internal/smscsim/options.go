package smscsim

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// Options configures a Simulator. The zero value is usable: a simulator
// that accepts every bind, answers every submit at once with ESME_ROK and
// a hex message id, and delivers every requested receipt at once as
// DELIVRD; it listens on nothing until Addr or HTTPAddr is set.
type Options struct {
	// Addr is the SMPP listen address ("127.0.0.1:2775", or
	// "127.0.0.1:0" for any free port). Empty opens no listener;
	// connections are then handed over with ServeConn.
	Addr string
	// HTTPAddr is the listen address of the HTTP API (GET /stats,
	// POST /stats/reset-peaks, POST /mo). Empty opens no listener;
	// Handler serves the same API.
	HTTPAddr string

	// SystemID and Password, when not empty, are required of every
	// bind: a wrong system_id is refused with ESME_RINVSYSID, a wrong
	// password with ESME_RINVPASWD. Empty accepts any.
	SystemID string
	Password string

	// ResponseDelay delays every submit_sm_resp (fixed, or drawn
	// uniformly per submit). Zero answers inline.
	ResponseDelay Delay
	// ReceiptDelay is the time from the submit_sm_resp to the receipt
	// (fixed, or drawn uniformly per message).
	ReceiptDelay Delay

	// Errors lists the command_status values that submits are refused
	// with and the fraction of submits each takes. The fractions must
	// add up to at most 1.
	Errors []ErrorRate
	// MaxRate, when positive, caps the submits accepted per second (a
	// token bucket holding a tenth of a second's worth): submits beyond
	// it are answered ESME_RTHROTTLED, like a carrier enforcing its
	// contracted TPS. SetMaxRate changes it at run time.
	MaxRate float64
	// Undeliv and Expired are the fractions of accepted messages whose
	// receipt says UNDELIV and EXPIRED; the rest are DELIVRD. Their sum
	// must be at most 1.
	Undeliv, Expired float64

	// IDFormat is how submit_sm_resp writes message ids: IDHex (the
	// default) or IDDecimal.
	IDFormat IDFormat
	// ReceiptIDFormat is how receipts write the same ids, in the text
	// and in receipted_message_id: IDDefault (as IDFormat), IDHex or
	// IDDecimal. A format different from IDFormat reproduces the
	// hex/decimal mismatch of real SMSCs.
	ReceiptIDFormat IDFormat
	// FirstID is the first message id. Zero derives it from the start
	// time (Unix seconds << 20), so that ids do not repeat across
	// restarts at under a million messages per second.
	FirstID uint64

	// Seed makes the random draws (errors, receipt states, delays)
	// reproducible: with the same seed, the n-th submit and the n-th
	// message always draw the same values. Zero picks a random seed.
	Seed uint64

	// MaxPendingReceipts bounds the receipts held in memory (waiting for
	// their delay, for a receiver to bind, or for a retry). Receipts
	// beyond it are dropped and counted. Default 1,000,000.
	MaxPendingReceipts int
	// RetryDelay is the wait before a receipt whose deliver_sm failed
	// (error status, timeout, broken link) is sent again. Default 1s.
	RetryDelay time.Duration

	// SMPP holds the session parameters of every bind. InboundWindow is
	// how many requests one bind may have unanswered (beyond it the
	// session answers ESME_RTHROTTLED); Window is how many deliver_sm
	// the simulator keeps outstanding per bind, and defaults to 100 here
	// rather than smpp's 10.
	SMPP smpp.Config
	// OnSubmit, when set, is called for every accepted submit_sm or
	// data_sm with its destination, content and the message id given,
	// on the session's reader goroutine (it must not block). Benchmarks
	// and crash tests use it to time submits and count duplicates.
	OnSubmit func(Submitted)
	// Logger receives lifecycle events. It never receives per-message
	// events. Default: discard.
	Logger *slog.Logger
}

// Defaults applied by New.
const (
	DefaultMaxPendingReceipts = 1_000_000
	DefaultRetryDelay         = time.Second
	DefaultReceiptWindow      = 100
)

func (o Options) withDefaults() Options {
	if o.MaxPendingReceipts <= 0 {
		o.MaxPendingReceipts = DefaultMaxPendingReceipts
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.SMPP.Window <= 0 {
		o.SMPP.Window = DefaultReceiptWindow
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SMPP.Logger == nil {
		o.SMPP.Logger = o.Logger
	}
	if o.IDFormat == IDDefault {
		o.IDFormat = IDHex
	}
	if o.ReceiptIDFormat == IDDefault {
		o.ReceiptIDFormat = o.IDFormat
	}
	return o
}

// validate names the first bad field.
func (o Options) validate() error {
	if err := o.ResponseDelay.validate(); err != nil {
		return fmt.Errorf("response delay: %w", err)
	}
	if err := o.ReceiptDelay.validate(); err != nil {
		return fmt.Errorf("receipt delay: %w", err)
	}
	sum := 0.0
	for _, e := range o.Errors {
		if e.Status == pdu.StatusOK {
			return errors.New("errors: status 0 (ESME_ROK) is not an error")
		}
		if !validFraction(e.Fraction) {
			return fmt.Errorf("errors: %s: fraction %v outside 0..1", e.Status, e.Fraction)
		}
		sum += e.Fraction
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("errors: fractions add up to %v, more than 1", sum)
	}
	if o.MaxRate < 0 {
		return fmt.Errorf("max rate: %v is negative", o.MaxRate)
	}
	if !validFraction(o.Undeliv) {
		return fmt.Errorf("undeliv: fraction %v outside 0..1", o.Undeliv)
	}
	if !validFraction(o.Expired) {
		return fmt.Errorf("expired: fraction %v outside 0..1", o.Expired)
	}
	if o.Undeliv+o.Expired > 1+1e-9 {
		return fmt.Errorf("undeliv and expired add up to %v, more than 1", o.Undeliv+o.Expired)
	}
	if o.IDFormat > IDDecimal {
		return fmt.Errorf("id format: unknown value %d", o.IDFormat)
	}
	if o.ReceiptIDFormat > IDDecimal {
		return fmt.Errorf("receipt id format: unknown value %d", o.ReceiptIDFormat)
	}
	return nil
}

func validFraction(f float64) bool { return f >= 0 && f <= 1 }

// Delay is a fixed delay (Min == Max) or one drawn uniformly from Min to
// Max. The zero Delay is no delay.
type Delay struct {
	Min, Max time.Duration
}

// Fixed returns the Delay of exactly d.
func Fixed(d time.Duration) Delay { return Delay{Min: d, Max: d} }

// ParseDelay reads "0", a duration ("250ms", "1s") or a range of two
// durations joined by '-' ("1s-5s").
func ParseDelay(s string) (Delay, error) {
	s = strings.TrimSpace(s)
	lo, hi, isRange := strings.Cut(s, "-")
	first, err := time.ParseDuration(strings.TrimSpace(lo))
	if err != nil {
		return Delay{}, fmt.Errorf("delay %q: %w", s, err)
	}
	d := Delay{Min: first, Max: first}
	if isRange {
		if d.Max, err = time.ParseDuration(strings.TrimSpace(hi)); err != nil {
			return Delay{}, fmt.Errorf("delay %q: %w", s, err)
		}
	}
	if err := d.validate(); err != nil {
		return Delay{}, fmt.Errorf("delay %q: %w", s, err)
	}
	return d, nil
}

// String returns the form ParseDelay reads.
func (d Delay) String() string {
	if d.Min == d.Max {
		return d.Min.String()
	}
	return d.Min.String() + "-" + d.Max.String()
}

// IsZero reports whether d is no delay.
func (d Delay) IsZero() bool { return d.Min == 0 && d.Max == 0 }

func (d Delay) validate() error {
	if d.Min < 0 || d.Max < 0 {
		return errors.New("negative delay")
	}
	if d.Max < d.Min {
		return fmt.Errorf("maximum %v below minimum %v", d.Max, d.Min)
	}
	return nil
}

// at returns the delay for a draw x.
func (d Delay) at(x uint64) time.Duration {
	if d.Max == d.Min {
		return d.Min
	}
	return d.Min + time.Duration(x%uint64(d.Max-d.Min+1))
}

// ErrorRate is a command_status and the fraction of submits refused with it.
type ErrorRate struct {
	Status   pdu.Status
	Fraction float64
}

// ParseErrorRate reads "STATUS:FRACTION", where STATUS is a number (hex
// with 0x, or decimal) or an SMPP name such as ESME_RTHROTTLED, and
// FRACTION is from 0 to 1: "0x58:0.01", "ESME_RMSGQFUL:0.005".
func ParseErrorRate(s string) (ErrorRate, error) {
	st, frac, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return ErrorRate{}, fmt.Errorf("error rate %q: want STATUS:FRACTION", s)
	}
	status, err := parseStatus(st)
	if err != nil {
		return ErrorRate{}, fmt.Errorf("error rate %q: %w", s, err)
	}
	f, err := strconv.ParseFloat(frac, 64)
	if err != nil || !validFraction(f) {
		return ErrorRate{}, fmt.Errorf("error rate %q: fraction must be a number from 0 to 1", s)
	}
	if status == pdu.StatusOK {
		return ErrorRate{}, fmt.Errorf("error rate %q: ESME_ROK is not an error", s)
	}
	return ErrorRate{Status: status, Fraction: f}, nil
}

// String returns the form ParseErrorRate reads.
func (e ErrorRate) String() string {
	return fmt.Sprintf("0x%02X:%v", uint32(e.Status), e.Fraction)
}

func parseStatus(s string) (pdu.Status, error) { return pdu.ParseStatus(s) }

// IDFormat is how message ids are written.
type IDFormat uint8

// The id formats.
const (
	// IDDefault is hex for Options.IDFormat and "as IDFormat" for
	// Options.ReceiptIDFormat.
	IDDefault IDFormat = iota
	// IDHex is upper-case hexadecimal without leading zeros ("1A2B").
	IDHex
	// IDDecimal is decimal without leading zeros ("6699").
	IDDecimal
)

// ParseIDFormat reads "hex", "dec" (or "decimal"), and "same" (or "")
// for IDDefault.
func ParseIDFormat(s string) (IDFormat, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "same":
		return IDDefault, nil
	case "hex":
		return IDHex, nil
	case "dec", "decimal":
		return IDDecimal, nil
	}
	return IDDefault, fmt.Errorf("unknown id format %q (want hex, dec or same)", s)
}

// String returns "same", "hex" or "dec".
func (f IDFormat) String() string {
	switch f {
	case IDDefault:
		return "same"
	case IDHex:
		return "hex"
	case IDDecimal:
		return "dec"
	}
	return "IDFormat(" + strconv.Itoa(int(f)) + ")"
}

// appendID appends id in format f (IDHex or IDDecimal).
func appendID(dst []byte, f IDFormat, id uint64) []byte {
	if f == IDDecimal {
		return strconv.AppendUint(dst, id, 10)
	}
	start := len(dst)
	dst = strconv.AppendUint(dst, id, 16)
	for i := start; i < len(dst); i++ {
		if c := dst[i]; c >= 'a' {
			dst[i] = c - ('a' - 'A')
		}
	}
	return dst
}

// formatID returns id in format f.
func formatID(f IDFormat, id uint64) string {
	var buf [20]byte
	return string(appendID(buf[:0], f, id))
}

// Submitted describes an accepted submit for Options.OnSubmit.
type Submitted struct {
	Source, Dest pdu.Address
	DataCoding   uint8
	Content      []byte // short_message or message_payload (UDH included); do not retain
	MessageID    string
	At           time.Time
	Session      *smpp.Session // the bind it came on
}
