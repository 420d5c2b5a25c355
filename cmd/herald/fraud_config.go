package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/fraud"
)

// FraudConfig configures the fraud guard (docs/verify.md, docs/configuration.md).
type FraudConfig struct {
	Disabled bool `json:"disabled"` // no guard at all (benchmarks)
	Monitor  bool `json:"monitor"`  // report automatic blocks without refusing
	// HighRisk replaces the default list of blocked countries (nil: the default).
	HighRisk []string `json:"high_risk"`
	// Countries: country (ISO 3166 alpha-2) → allow, block or monitor, for
	// every account; Accounts: account id → the same, per account.
	Countries    map[string]string            `json:"countries"`
	Accounts     map[string]map[string]string `json:"accounts"`
	OTP          VelocityConfig               `json:"otp"`
	Other        VelocityConfig               `json:"other"`
	DailyCap     int                          `json:"daily_cap"`     // messages per account per UTC day; 0: none
	PrefixDigits int                          `json:"prefix_digits"` // last digits removed to make a prefix; default 4
	// ConversionGrace is how long a verification's code may take to be
	// typed before it counts against its prefix's conversion; default 30s.
	ConversionGrace Duration `json:"conversion_grace"`
}

// VelocityConfig bounds messages per window; absent fields keep the
// defaults, 0 means no limit.
type VelocityConfig struct {
	Prefix  *int     `json:"prefix"`
	Country *int     `json:"country"`
	Account *int     `json:"account"`
	Window  Duration `json:"window"`
}

func (v VelocityConfig) apply(dst *fraud.Velocity) {
	for _, f := range []struct {
		src *int
		dst *int
	}{{v.Prefix, &dst.Prefix}, {v.Country, &dst.Country}, {v.Account, &dst.Account}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if v.Window > 0 {
		dst.Window = time.Duration(v.Window)
	}
}

func mode(field, s string) (fraud.Mode, error) {
	switch m := fraud.Mode(strings.ToLower(s)); m {
	case fraud.Allow, fraud.Block, fraud.Monitor:
		return m, nil
	}
	return "", fmt.Errorf("config: %s: %q is not allow, block or monitor", field, s)
}

// policy returns the guard's policy; home is the default region.
func (c FraudConfig) policy(home string) (fraud.Policy, error) {
	p := fraud.DefaultPolicy(strings.ToUpper(home))
	p.Monitor, p.DailyCap = c.Monitor, c.DailyCap
	if c.HighRisk != nil {
		p.HighRisk = c.HighRisk
	}
	if c.PrefixDigits > 0 {
		p.PrefixDigits = c.PrefixDigits
	}
	if c.ConversionGrace > 0 {
		p.Conversion.Grace = time.Duration(c.ConversionGrace)
	}
	c.OTP.apply(&p.OTP)
	c.Other.apply(&p.Other)
	p.Countries = map[string]fraud.Mode{}
	for cc, s := range c.Countries {
		m, err := mode("fraud.countries."+cc, s)
		if err != nil {
			return p, err
		}
		p.Countries[strings.ToUpper(cc)] = m
	}
	p.Accounts = map[string]map[string]fraud.Mode{}
	for acc, cs := range c.Accounts {
		p.Accounts[acc] = map[string]fraud.Mode{}
		for cc, s := range cs {
			m, err := mode("fraud.accounts."+acc+"."+cc, s)
			if err != nil {
				return p, err
			}
			p.Accounts[acc][strings.ToUpper(cc)] = m
		}
	}
	return p, nil
}
