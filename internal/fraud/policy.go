package fraud

import "time"

// Mode is an account's permission for a destination country.
type Mode string

// Country permissions.
const (
	Allow   Mode = "allow"
	Block   Mode = "block"
	Monitor Mode = "monitor" // allowed, and every message is reported (logged and counted)
)

// DefaultHighRisk are the destinations blocked until an account allows
// them: countries whose mobile termination rates and small number ranges
// make them the usual targets of SMS pumping (artificially inflated
// traffic) and international revenue share fraud, as the commercial
// fraud guards and the GSMA's fraud reports name them. The list is a
// default, not a verdict: allow a country (fraud.countries) when you
// have users there.
var DefaultHighRisk = []string{
	"AZ", "BY", "KG", "TJ", "TM", "UZ", // Caucasus and Central Asia
	"MM", "KH", "LA", "PG", "SB", "VU", "TO", "NR", "TV", "KI", "CK", "NU", "TK", // Asia and the Pacific
	"CU", "SO", "SD", "SS", "ER", "GW", "SL", "TD", "MR", "CF", "LR", // Caribbean and Africa
}

// Velocity bounds the messages of one class in a window: per destination
// prefix, per destination country and per account. Zero means no limit.
type Velocity struct {
	Prefix, Country, Account int
	Window                   time.Duration
}

// Conversion is the automatic blocking rule of a prefix: within Window,
// at least MinSent verifications were sent to it at least Grace ago (the
// time people take to type a code), that is at least Spike times its
// usual volume (its average over the last day), and fewer than MinRate of
// them were approved.
type Conversion struct {
	Window  time.Duration
	Grace   time.Duration
	MinSent int
	MinRate float64
	Spike   float64
}

// Policy is the fraud guard's configuration.
type Policy struct {
	// HomeCountry (ISO 3166 alpha-2, the server's default region) is
	// always allowed unless an account blocks it.
	HomeCountry string
	// HighRisk countries are blocked unless allowed; nil means
	// DefaultHighRisk.
	HighRisk []string
	// Countries sets every account's permission for a country;
	// Accounts[account id] overrides it per account.
	Countries map[string]Mode
	Accounts  map[string]map[string]Mode
	// OTP and Other are the velocity limits of otp messages and of the
	// other types.
	OTP, Other Velocity
	// DailyCap bounds each account's messages per UTC day; 0: no cap.
	DailyCap int
	// PrefixDigits is how many last digits are removed from a number to
	// get its prefix. Default 4.
	PrefixDigits int
	Conversion   Conversion
	// Escalation is how long successive automatic blocks of a prefix
	// last (within a day of each other); the next one lasts until lifted
	// by hand. Default 15 min, 4 h.
	Escalation []time.Duration
	// Monitor reports automatic blocks (events, webhooks, the API) without
	// refusing any message.
	Monitor bool
}

// DefaultPolicy returns the defaults.
func DefaultPolicy(home string) Policy {
	return Policy{
		HomeCountry:  home,
		OTP:          Velocity{Prefix: 30, Window: 10 * time.Minute},
		Other:        Velocity{Window: 10 * time.Minute}, // no limit by default: pumping comes through codes
		PrefixDigits: 4,
		Conversion:   Conversion{Window: 10 * time.Minute, Grace: 30 * time.Second, MinSent: 10, MinRate: 0.3, Spike: 3},
		Escalation:   []time.Duration{15 * time.Minute, 4 * time.Hour},
	}
}

func (p *Policy) defaults() {
	d := DefaultPolicy(p.HomeCountry)
	if p.HighRisk == nil {
		p.HighRisk = DefaultHighRisk
	}
	if p.PrefixDigits <= 0 {
		p.PrefixDigits = d.PrefixDigits
	}
	if p.Conversion == (Conversion{}) {
		p.Conversion = d.Conversion
	}
	if p.Escalation == nil {
		p.Escalation = d.Escalation
	}
	if p.OTP.Window <= 0 {
		p.OTP.Window = d.OTP.Window
	}
	if p.Other.Window <= 0 {
		p.Other.Window = d.Other.Window
	}
}

// mode returns an account's permission for a country.
func (p *Policy) mode(account, country string) Mode {
	if m, ok := p.Accounts[account][country]; ok {
		return m
	}
	if m, ok := p.Countries[country]; ok {
		return m
	}
	if country == p.HomeCountry {
		return Allow
	}
	for _, c := range p.HighRisk {
		if c == country {
			return Block
		}
	}
	return Allow
}
