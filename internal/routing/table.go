// Package routing decides which carrier a message goes to: a table of
// routes matched by destination prefix (longest wins), message type,
// account and sender class; weighted choice between a route's equivalent
// carriers; an ordered failover list when they are down or demoted; and
// health tracking that demotes a carrier whose delivery rate collapses
// and brings it back after a probation. It is pure decision code: the
// dispatcher asks it at dispatch time and records the answer.
package routing

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/herald-sms/herald/internal/herald"
)

// SenderClass is the kind of sender a message uses.
type SenderClass string

// Sender classes.
const (
	Alphanumeric SenderClass = "alphanumeric"
	LongCode     SenderClass = "long_code"
	ShortCode    SenderClass = "short_code"
)

// ClassOf returns the class of a sender: anything not all digits is
// alphanumeric; "+" numbers and numbers of more than 8 digits are long
// codes; the rest short codes.
func ClassOf(from string) SenderClass {
	digits := strings.TrimPrefix(from, "+")
	for _, c := range digits {
		if c < '0' || c > '9' {
			return Alphanumeric
		}
	}
	if strings.HasPrefix(from, "+") || len(digits) > 8 {
		return LongCode
	}
	return ShortCode
}

// Weighted is one carrier of a route with its share of the traffic.
type Weighted struct {
	Carrier string
	Weight  int // default 1
}

// Route is one row of the table. Empty criteria match anything.
type Route struct {
	Name     string
	Prefixes []string // E.164 digits without "+": "44", "447"; a country is its calling code
	Types    []herald.MessageType
	Accounts []string
	Senders  []SenderClass
	// Operators match the destination's operator as the table's lookup
	// knows it (the range holder in libphonenumber's data, before any
	// porting), compared without regard to case: "Vodafone", "O2".
	Operators []string
	Carriers  []Weighted // equivalent carriers, chosen by weight
	Failover  []string   // in order, when no carrier of Carriers is usable
}

// Table is a routing table. Its methods are safe for concurrent use.
type Table struct {
	routes []*route
	// operator returns a destination's operator ("" when unknown); set
	// with LookupOperators before the table is used.
	operator func(e164 string) string
}

// LookupOperators sets how the table learns a destination's operator,
// for routes with Operators. Call it before the table is used.
func (t *Table) LookupOperators(f func(e164 string) string) { t.operator = f }

type route struct {
	Route
	mu      sync.Mutex
	current []int // mu guards current: smooth weighted round robin state
}

// NewTable checks routes and returns a table. known, when not nil,
// reports whether a carrier exists; a route naming an unknown one is an
// error naming it.
func NewTable(routes []Route, known func(string) bool) (*Table, error) {
	t := &Table{}
	names := map[string]bool{}
	for i, r := range routes {
		if r.Name == "" {
			r.Name = fmt.Sprintf("route%d", i+1)
		}
		if names[r.Name] {
			return nil, fmt.Errorf("routes[%d]: name %q used twice", i, r.Name)
		}
		names[r.Name] = true
		if len(r.Carriers) == 0 {
			return nil, fmt.Errorf("routes[%d] (%s): no carriers", i, r.Name)
		}
		r.Carriers = append([]Weighted(nil), r.Carriers...)
		for k := range r.Carriers {
			if r.Carriers[k].Weight <= 0 {
				r.Carriers[k].Weight = 1
			}
		}
		for _, c := range r.carrierNames() {
			if known != nil && !known(c) {
				return nil, fmt.Errorf("routes[%d] (%s): unknown carrier %q", i, r.Name, c)
			}
		}
		for _, p := range r.Prefixes {
			if strings.Trim(p, "0123456789") != "" || p == "" {
				return nil, fmt.Errorf("routes[%d] (%s): prefix %q is not digits", i, r.Name, p)
			}
		}
		for _, s := range r.Senders {
			if s != Alphanumeric && s != LongCode && s != ShortCode {
				return nil, fmt.Errorf("routes[%d] (%s): sender class %q is not alphanumeric, long_code or short_code", i, r.Name, s)
			}
		}
		for _, op := range r.Operators {
			if strings.TrimSpace(op) == "" {
				return nil, fmt.Errorf("routes[%d] (%s): empty operator name", i, r.Name)
			}
		}
		for _, ty := range r.Types {
			if !ty.Valid() {
				return nil, fmt.Errorf("routes[%d] (%s): message type %q", i, r.Name, ty)
			}
		}
		t.routes = append(t.routes, &route{Route: r, current: make([]int, len(r.Carriers))})
	}
	return t, nil
}

func (r *Route) carrierNames() []string {
	var out []string
	for _, w := range r.Carriers {
		out = append(out, w.Carrier)
	}
	return append(out, r.Failover...)
}

// ErrNoRoute is returned by Match when no route matches.
var ErrNoRoute = errors.New("routing: no route matches")

// Match returns the route for m: among the routes whose criteria all
// match, the one with the longest matching prefix, then the one with
// more criteria given, then the first in the table.
func (t *Table) Match(m *herald.Message) (*Route, error) {
	r := t.match(m)
	if r == nil {
		return nil, ErrNoRoute
	}
	return &r.Route, nil
}

func (t *Table) match(m *herald.Message) *route {
	to := strings.TrimPrefix(m.To, "+")
	class := ClassOf(m.From)
	operator, looked := "", false
	var best *route
	bestLen, bestCrit := -1, -1
	for _, r := range t.routes {
		plen := -1
		if len(r.Prefixes) == 0 {
			plen = 0
		}
		for _, p := range r.Prefixes {
			if strings.HasPrefix(to, p) && len(p) > plen {
				plen = len(p)
			}
		}
		if plen < 0 || !has(r.Types, m.Type) || !has(r.Accounts, m.AccountID) || !has(r.Senders, class) {
			continue
		}
		if len(r.Operators) > 0 {
			if !looked && t.operator != nil {
				operator, looked = t.operator(m.To), true
			}
			if !hasFold(r.Operators, operator) {
				continue
			}
		}
		crit := count(r.Types) + count(r.Accounts) + count(r.Senders) + count(r.Operators)
		if plen > bestLen || (plen == bestLen && crit > bestCrit) {
			best, bestLen, bestCrit = r, plen, crit
		}
	}
	return best
}

func has[T comparable](set []T, v T) bool {
	if len(set) == 0 {
		return true
	}
	for _, x := range set {
		if x == v {
			return true
		}
	}
	return false
}

// hasFold reports whether v (not empty) is in set, ignoring case.
func hasFold(set []string, v string) bool {
	if v == "" {
		return false
	}
	for _, x := range set {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func count[T any](set []T) int {
	if len(set) == 0 {
		return 0
	}
	return 1
}

// Decision is where a message goes and why, for its history.
type Decision struct {
	Route   string // "" when no route matched
	Carrier string
	Detail  string // "route uk: carrier acme (weighted 3 of 4)", "route uk: failover to beta because acme is down"
}

// Choose decides the carrier for m. usable reports whether a carrier may
// take new traffic now, and if not why ("down", "demoted: …"). With no
// matching route the message stays with fallback (the carrier chosen at
// intake). When no carrier of the route is usable, the message waits for
// the route's first carrier.
func (t *Table) Choose(m *herald.Message, fallback string, usable func(string) (bool, string)) Decision {
	r := t.match(m)
	if r == nil {
		if len(t.routes) == 0 {
			return Decision{Carrier: fallback} // no table: nothing to explain
		}
		return Decision{Carrier: fallback, Detail: "no route matches; carrier " + fallback + " chosen at intake"}
	}
	var skipped []string
	ok := make([]bool, len(r.Carriers))
	total := 0
	for i, w := range r.Carriers {
		if u, why := usable(w.Carrier); u {
			ok[i] = true
			total += w.Weight
		} else {
			skipped = append(skipped, w.Carrier+" "+why)
		}
	}
	if total > 0 {
		i := r.pick(ok, total)
		d := Decision{Route: r.Name, Carrier: r.Carriers[i].Carrier}
		d.Detail = fmt.Sprintf("route %s: carrier %s", r.Name, d.Carrier)
		if len(r.Carriers) > 1 {
			d.Detail += fmt.Sprintf(" (weight %d of %d)", r.Carriers[i].Weight, total)
		}
		if len(skipped) > 0 {
			d.Detail += "; skipped " + strings.Join(skipped, ", ")
		}
		return d
	}
	for _, c := range r.Failover {
		if u, why := usable(c); u {
			return Decision{Route: r.Name, Carrier: c,
				Detail: fmt.Sprintf("route %s: failover to %s because %s", r.Name, c, strings.Join(skipped, ", "))}
		} else {
			skipped = append(skipped, c+" "+why)
		}
	}
	first := r.Carriers[0].Carrier
	return Decision{Route: r.Name, Carrier: first,
		Detail: fmt.Sprintf("route %s: no carrier usable (%s); waiting for %s", r.Name, strings.Join(skipped, ", "), first)}
}

// pick is smooth weighted round robin (as nginx's upstreams) over the
// usable carriers: exact shares, evenly spread, no randomness.
func (r *route) pick(ok []bool, total int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	best := -1
	for i, w := range r.Carriers {
		if !ok[i] {
			continue
		}
		r.current[i] += w.Weight
		if best < 0 || r.current[i] > r.current[best] {
			best = i
		}
	}
	r.current[best] -= total
	return best
}

// Primary returns the first carrier of the route for m, or fallback: the
// carrier whose text options intake uses to encode and split the message.
func (t *Table) Primary(m *herald.Message, fallback string) string {
	if r := t.match(m); r != nil {
		return r.Carriers[0].Carrier
	}
	return fallback
}
