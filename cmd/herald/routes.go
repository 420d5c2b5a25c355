package main

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/herald-sms/herald/internal/dispatch"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/routing"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// RouteConfig is one route of the routing table (docs/routing.md).
// Empty criteria match anything.
type RouteConfig struct {
	Name      string         `json:"name"`
	Prefixes  []string       `json:"prefixes"`  // E.164 digit prefixes: "44", "4479"
	Countries []string       `json:"countries"` // ISO 3166 codes, matched by calling code ("GB" → 44)
	Types     []string       `json:"types"`     // otp, transactional, marketing
	Accounts  []string       `json:"accounts"`  // account ids (acc_…)
	Senders   []string       `json:"senders"`   // alphanumeric, long_code, short_code
	Operators []string       `json:"operators"` // the destination's operator as libphonenumber names it ("Vodafone", "O2")
	Carriers  []RouteCarrier `json:"carriers"`  // equivalent carriers, by weight
	Failover  []string       `json:"failover"`  // carrier names, in order
}

// RouteCarrier is a carrier of a route and its weight (default 1).
type RouteCarrier struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// RoutingConfig holds the health rules and link-down detection.
type RoutingConfig struct {
	DownAfter       Duration `json:"down_after"`        // no bind up this long → down (default 3s)
	HealthWindow    Duration `json:"health_window"`     // sliding window of receipts (default 5m)
	MinReceipts     int      `json:"min_receipts"`      // receipts needed before judging (default 50)
	MinDeliveryRate float64  `json:"min_delivery_rate"` // DELIVRD share under which a carrier is demoted (default 0.5; -1 off)
	Probation       Duration `json:"probation"`         // how long a demoted carrier rests (default 2m)
	// MaxReceiptLatency demotes a carrier when most receipts in the
	// window came later than this after their submit (0: off).
	MaxReceiptLatency Duration `json:"max_receipt_latency"`
	// SenderLimits cap each sender's rate by class and number prefix.
	SenderLimits []SenderLimitConfig `json:"sender_limits"`
	// AccountLimits are quotas by account id; "*" applies to every
	// account not listed.
	AccountLimits map[string]AccountLimitConfig `json:"account_limits"`
}

// AccountLimitConfig is an account's quota at dispatch.
type AccountLimitConfig struct {
	PerSecond float64 `json:"per_second"` // parts per second, 0 none
	PerDay    int     `json:"per_day"`    // parts per UTC day, 0 none
}

// SenderLimitConfig: each sender of the class whose number starts with
// prefix sends at most tps parts per second ("long_code", "1", 1: one
// per second per US long code).
type SenderLimitConfig struct {
	Sender string  `json:"sender"` // alphanumeric, long_code, short_code
	Prefix string  `json:"prefix"` // digits of the sender, without "+"
	TPS    float64 `json:"tps"`
}

// limits builds the sender limits and account quotas, or nil when there
// are none.
func (rc RoutingConfig) limits() (dispatch.Limits, error) {
	senders, err := rc.senderLimits()
	if err != nil {
		return nil, err
	}
	if senders == nil && len(rc.AccountLimits) == 0 {
		return nil, nil
	}
	l := &routing.Limits{Senders: senders, Accounts: map[string]routing.AccountLimit{}}
	for id, a := range rc.AccountLimits {
		if a.PerSecond < 0 || a.PerDay < 0 {
			return nil, fmt.Errorf("config: routing.account_limits[%s]: negative quota", id)
		}
		q := routing.AccountLimit{PerSecond: a.PerSecond, PerDay: a.PerDay}
		if id == "*" {
			l.Default = q
		} else {
			l.Accounts[id] = q
		}
	}
	return l, nil
}

// senderLimits builds the sender limits, or nil when there are none.
func (rc RoutingConfig) senderLimits() (*routing.SenderLimits, error) {
	if len(rc.SenderLimits) == 0 {
		return nil, nil
	}
	var ls []routing.SenderLimit
	for i, l := range rc.SenderLimits {
		c := routing.SenderClass(l.Sender)
		if c != routing.Alphanumeric && c != routing.LongCode && c != routing.ShortCode {
			return nil, fmt.Errorf("config: routing.sender_limits[%d]: sender %q is not alphanumeric, long_code or short_code", i, l.Sender)
		}
		if l.TPS <= 0 {
			return nil, fmt.Errorf("config: routing.sender_limits[%d]: tps %v is not positive", i, l.TPS)
		}
		ls = append(ls, routing.SenderLimit{Class: c, Prefix: strings.TrimPrefix(l.Prefix, "+"), TPS: l.TPS})
	}
	return routing.NewSenderLimits(ls), nil
}

// routingTable builds the table from the configuration; carriers names
// the configured carriers.
func routingTable(routes []RouteConfig, carriers []string) (*routing.Table, error) {
	known := map[string]bool{}
	for _, c := range carriers {
		known[c] = true
	}
	var rs []routing.Route
	for i, rc := range routes {
		r := routing.Route{Name: rc.Name, Prefixes: rc.Prefixes, Accounts: rc.Accounts, Failover: rc.Failover, Operators: rc.Operators}
		for _, cc := range rc.Countries {
			code := phonenumbers.GetCountryCodeForRegion(strings.ToUpper(cc))
			if code == 0 {
				return nil, fmt.Errorf("config: routes[%d]: unknown country %q", i, cc)
			}
			r.Prefixes = append(r.Prefixes, strconv.Itoa(code))
		}
		for _, t := range rc.Types {
			r.Types = append(r.Types, herald.MessageType(t))
		}
		for _, s := range rc.Senders {
			r.Senders = append(r.Senders, routing.SenderClass(s))
		}
		for _, c := range rc.Carriers {
			r.Carriers = append(r.Carriers, routing.Weighted{Carrier: c.Name, Weight: c.Weight})
		}
		rs = append(rs, r)
	}
	t, err := routing.NewTable(rs, func(c string) bool { return known[c] })
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	t.LookupOperators(operators.lookup)
	return t, nil
}

// operators names destinations' operators from libphonenumber's prefix
// data (the operator that holds the number range; a ported number keeps
// its original operator there, as Herald has no portability database).
// Parsing costs microseconds, so answers are cached, boundedly.
var operators = &operatorCache{m: map[string]string{}}

type operatorCache struct {
	mu sync.Mutex
	m  map[string]string // mu guards m: E.164 → operator ("" unknown)
}

const maxOperatorCache = 100_000

func (c *operatorCache) lookup(e164 string) string {
	c.mu.Lock()
	op, ok := c.m[e164]
	c.mu.Unlock()
	if ok {
		return op
	}
	if num, err := phonenumbers.Parse(e164, ""); err == nil {
		op, _ = phonenumbers.GetCarrierForNumber(num, "en")
	}
	c.mu.Lock()
	if len(c.m) >= maxOperatorCache {
		clear(c.m)
	}
	c.m[e164] = op
	c.mu.Unlock()
	return op
}

func (rc RoutingConfig) health() routing.HealthOptions {
	return routing.HealthOptions{Window: time.Duration(rc.HealthWindow), MinReceipts: rc.MinReceipts,
		MinDeliveryRate: rc.MinDeliveryRate, Probation: time.Duration(rc.Probation),
		MaxReceiptLatency: time.Duration(rc.MaxReceiptLatency)}
}

// rerouteOn parses a carrier's reroute_on statuses.
func (cc *CarrierConfig) rerouteOn() ([]pdu.Status, error) {
	var out []pdu.Status
	for _, v := range cc.RerouteOn {
		s, err := pdu.ParseStatus(v)
		if err != nil || s == pdu.StatusOK {
			return nil, fmt.Errorf("config: carrier %s: reroute_on: %q is not an error command_status", cc.Name, v)
		}
		out = append(out, s)
	}
	return out, nil
}
