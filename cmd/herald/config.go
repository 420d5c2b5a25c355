package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/smpp/dlr"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smstext"
)

// Config is the whole configuration of `herald serve`: defaults, then
// the file (--config, JSON), then environment variables (HERALD_*), then
// flags. docs/configuration.md documents every field.
type Config struct {
	Data string `json:"data"` // data directory (HERALD_DATA)
	// Store is a postgres:// URL to keep messages in PostgreSQL (several
	// nodes may share it); empty keeps them in SQLite in Data
	// (HERALD_STORE).
	Store         string   `json:"store"`
	HTTP          string   `json:"http"`           // API listen address (HERALD_HTTP)
	DefaultRegion string   `json:"default_region"` // ISO country for national numbers (HERALD_DEFAULT_REGION)
	DefaultFrom   string   `json:"default_from"`   // sender when a request gives none (HERALD_DEFAULT_FROM)
	MaxParts      int      `json:"max_parts"`      // parts per message
	ReceiptWindow Duration `json:"receipt_window"` // sent without receipt → unknown
	LogLevel      string   `json:"log_level"`      // debug, info, warn, error (HERALD_LOG_LEVEL)
	// WebhookAllowLoopback lets webhooks target 127.0.0.1/localhost: for
	// development and tests only (HERALD_WEBHOOK_ALLOW_LOOPBACK).
	WebhookAllowLoopback bool            `json:"webhook_allow_loopback"`
	Simulator            SimulatorConfig `json:"simulator"`
	Carriers             []CarrierConfig `json:"carriers"`
	TwoWay               TwoWayConfig    `json:"two_way"`

	// VerifyKey is the HMAC key of one-time codes, hex or base64 of at
	// least 32 bytes (HERALD_VERIFY_KEY); empty: DATA/verify.key, made on
	// first start with mode 0600. Never stored in the database.
	VerifyKey string      `json:"verify_key"`
	Fraud     FraudConfig `json:"fraud"` // the fraud guard (fraud_config.go)
	// SMPP is the listen address of the SMPP server for client
	// applications; empty (the default) leaves it off (HERALD_SMPP).
	SMPP    string        `json:"smpp"`
	Routes  []RouteConfig `json:"routes"`  // routing table (routes.go, docs/routing.md)
	Routing RoutingConfig `json:"routing"` // failover and health rules
	// AdminToken enables the operator endpoints (GET /v1/carriers, POST
	// /v1/admin/reload) for this bearer token (HERALD_ADMIN_TOKEN).
	AdminToken string `json:"admin_token"`
	// Node is this node's id when several nodes share a PostgreSQL store
	// (HERALD_NODE): unique in the cluster and the same across restarts,
	// so that a restarted node takes back its own work at once. Default:
	// the host name and the API port.
	Node    string        `json:"node"`
	Cluster ClusterConfig `json:"cluster"`
}

// ClusterConfig tunes cluster mode (docs/cluster.md).
type ClusterConfig struct {
	// LeaseTTL is how long a node's heartbeat and bind slots last without
	// renewal: a node silent for it is dead, its slots are taken over
	// and its work given to the others. Default 10s.
	LeaseTTL Duration `json:"lease_ttl"`
}

// SimulatorConfig is the built-in SMSC simulator carrier.
type SimulatorConfig struct {
	// Enabled: nil means "on when no carrier is configured".
	Enabled      *bool   `json:"enabled"`
	ReceiptDelay string  `json:"receipt_delay"` // "0s", "1s", "1s-5s"
	Undeliv      float64 `json:"undeliv"`
	Window       int     `json:"window"`
	Binds        int     `json:"binds"`
}

// CarrierConfig is one SMPP carrier. On the command line it is a URL:
// smpp://SYSTEM_ID:PASSWORD@HOST:PORT?name=x&binds=2&window=100&tps=500&bind=transceiver
type CarrierConfig struct {
	Name                string   `json:"name"`
	Host                string   `json:"host"`
	Port                int      `json:"port"`
	SystemID            string   `json:"system_id"`
	Password            string   `json:"password"`
	SystemType          string   `json:"system_type"`
	Bind                string   `json:"bind"` // transceiver (default), transmitter, receiver
	Binds               int      `json:"binds"`
	Window              int      `json:"window"`
	TPS                 float64  `json:"tps"`
	BindTPS             float64  `json:"bind_tps"`           // per-bind limit, 0 none
	ThrottlePause       Duration `json:"throttle_pause"`     // first pause after ESME_RTHROTTLED/RMSGQFUL (100ms)
	MaxThrottlePause    Duration `json:"max_throttle_pause"` // longest pause (5s)
	RerouteOn           []string `json:"reroute_on"`         // submit statuses meaning "no route here" (routes.go)
	SourceTON           *int     `json:"source_ton"`
	SourceNPI           *int     `json:"source_npi"`
	DestTON             *int     `json:"dest_ton"`
	DestNPI             *int     `json:"dest_npi"`
	Concat              string   `json:"concat"`    // udh8 (default), udh16, sar, payload
	Languages           []string `json:"languages"` // national tables the carrier supports: turkish, spanish, portuguese, …
	Packed              bool     `json:"packed"`    // packed GSM-7
	Encoding            string   `json:"encoding"`  // auto (default), ucs2, latin1
	IDFormat            string   `json:"id_format"` // submit_sm_resp ids: auto, string, hex, dec
	ReceiptIDFormat     string   `json:"receipt_id_format"`
	ResponseTimeout     Duration `json:"response_timeout"`
	EnquireLinkInterval Duration `json:"enquire_link_interval"`
}

// Duration is a time.Duration written as "30s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads "30s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("a duration is a string like \"30s\" or a number of seconds")
	}
	*d = Duration(n * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// defaultConfig is what `herald serve` does with no configuration at all.
func defaultConfig() Config {
	return Config{
		Data:          "./herald-data",
		HTTP:          "127.0.0.1:8080",
		DefaultFrom:   "Herald",
		MaxParts:      10,
		ReceiptWindow: Duration(72 * time.Hour),
		LogLevel:      "info",
		Simulator:     SimulatorConfig{ReceiptDelay: "200ms-1s", Window: 100, Binds: 1},
	}
}

// loadConfigFile merges a JSON file into c; unknown fields are errors.
func loadConfigFile(c *Config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// applyEnv overrides c from HERALD_* variables.
func applyEnv(c *Config, getenv func(string) string) error {
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("HERALD_DATA", &c.Data)
	set("HERALD_STORE", &c.Store)
	set("HERALD_HTTP", &c.HTTP)
	set("HERALD_DEFAULT_REGION", &c.DefaultRegion)
	set("HERALD_DEFAULT_FROM", &c.DefaultFrom)
	set("HERALD_ADMIN_TOKEN", &c.AdminToken)
	set("HERALD_LOG_LEVEL", &c.LogLevel)
	set("HERALD_VERIFY_KEY", &c.VerifyKey)
	set("HERALD_SMPP", &c.SMPP)
	set("HERALD_NODE", &c.Node)
	if v := getenv("HERALD_WEBHOOK_ALLOW_LOOPBACK"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("HERALD_WEBHOOK_ALLOW_LOOPBACK: %w", err)
		}
		c.WebhookAllowLoopback = b
	}
	if v := getenv("HERALD_CARRIERS"); v != "" {
		for _, u := range strings.Fields(v) {
			cc, err := parseCarrierURL(u)
			if err != nil {
				return fmt.Errorf("HERALD_CARRIERS: %w", err)
			}
			c.Carriers = append(c.Carriers, cc)
		}
	}
	return nil
}

// parseCarrierURL reads an smpp:// URL into a carrier.
func parseCarrierURL(raw string) (CarrierConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return CarrierConfig{}, fmt.Errorf("carrier URL: %w", redactErr(err, raw))
	}
	if u.Scheme != "smpp" {
		return CarrierConfig{}, fmt.Errorf("carrier URL %s: scheme must be smpp", redactURL(raw))
	}
	host, portStr, err := net.SplitHostPort(u.Host)
	if err != nil {
		return CarrierConfig{}, fmt.Errorf("carrier URL %s: host:port: %w", redactURL(raw), err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return CarrierConfig{}, fmt.Errorf("carrier URL %s: bad port %q", redactURL(raw), portStr)
	}
	c := CarrierConfig{Host: host, Port: port}
	if u.User != nil {
		c.SystemID = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	q := u.Query()
	atoi := func(k string, dst *int) error {
		if v := q.Get(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("carrier URL %s: %s: %w", redactURL(raw), k, err)
			}
			*dst = n
		}
		return nil
	}
	optInt := func(k string, dst **int) error {
		if q.Get(k) == "" {
			return nil
		}
		var n int
		if err := atoi(k, &n); err != nil {
			return err
		}
		*dst = &n
		return nil
	}
	for k, dst := range map[string]*int{"binds": &c.Binds, "window": &c.Window} {
		if err := atoi(k, dst); err != nil {
			return c, err
		}
	}
	for k, dst := range map[string]**int{"source_ton": &c.SourceTON, "source_npi": &c.SourceNPI, "dest_ton": &c.DestTON, "dest_npi": &c.DestNPI} {
		if err := optInt(k, dst); err != nil {
			return c, err
		}
	}
	if v := q.Get("tps"); v != "" {
		if c.TPS, err = strconv.ParseFloat(v, 64); err != nil {
			return c, fmt.Errorf("carrier URL %s: tps: %w", redactURL(raw), err)
		}
	}
	if v := q.Get("bind_tps"); v != "" {
		if c.BindTPS, err = strconv.ParseFloat(v, 64); err != nil {
			return c, fmt.Errorf("carrier URL %s: bind_tps: %w", redactURL(raw), err)
		}
	}
	c.Name = q.Get("name")
	c.Bind = q.Get("bind")
	c.SystemType = q.Get("system_type")
	c.Concat = q.Get("concat")
	c.Encoding = q.Get("encoding")
	c.IDFormat = q.Get("id_format")
	c.ReceiptIDFormat = q.Get("receipt_id_format")
	if v := q.Get("languages"); v != "" {
		c.Languages = strings.Split(v, ",")
	}
	c.Packed = q.Get("packed") == "true" || q.Get("packed") == "1"
	for _, k := range []string{"response_timeout", "enquire_link_interval"} {
		if v := q.Get(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("carrier URL %s: %s: %w", redactURL(raw), k, err)
			}
			if k == "response_timeout" {
				c.ResponseTimeout = Duration(d)
			} else {
				c.EnquireLinkInterval = Duration(d)
			}
		}
	}
	return c, nil
}

// redactURL hides the password of a URL for logs and errors.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func redactErr(err error, raw string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(ue.Err.Error())
	}
	return errors.New("invalid URL")
}

// validate checks the configuration and names the bad field.
func (c *Config) validate() error {
	if _, err := c.Fraud.policy(c.DefaultRegion); err != nil {
		return err
	}
	if c.Data == "" {
		return errors.New("config: data: must not be empty")
	}
	if err := checkStore(c.Store); err != nil {
		return fmt.Errorf("config: store: %w", err)
	}
	if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
		return fmt.Errorf("config: http: %q is not host:port", c.HTTP)
	}
	if c.MaxParts < 1 || c.MaxParts > 255 {
		return fmt.Errorf("config: max_parts: %d is not between 1 and 255", c.MaxParts)
	}
	if err := c.TwoWay.validate(); err != nil {
		return err
	}
	names := map[string]bool{}
	for i := range c.Carriers {
		cc := &c.Carriers[i]
		if cc.Name == "" {
			cc.Name = fmt.Sprintf("carrier%d", i+1)
		}
		if names[cc.Name] || cc.Name == "simulator" {
			return fmt.Errorf("config: carriers[%d].name: %q is used twice or reserved", i, cc.Name)
		}
		names[cc.Name] = true
		if cc.Host == "" || cc.Port <= 0 {
			return fmt.Errorf("config: carriers[%d] (%s): host and port are required", i, cc.Name)
		}
		if _, err := cc.role(); err != nil {
			return fmt.Errorf("config: carriers[%d].bind: %w", i, err)
		}
		if _, err := cc.textOptions(); err != nil {
			return fmt.Errorf("config: carriers[%d]: %w", i, err)
		}
		for _, f := range []string{cc.IDFormat, cc.ReceiptIDFormat} {
			if _, err := parseIDFormat(f); err != nil {
				return fmt.Errorf("config: carriers[%d] id format: %w", i, err)
			}
		}
	}
	return nil
}

func parseIDFormat(s string) (dlr.IDFormat, error) {
	if s == "" {
		return dlr.IDAuto, nil
	}
	return dlr.ParseIDFormat(s)
}

func (cc *CarrierConfig) role() (pdu.Role, error) {
	switch cc.Bind {
	case "", "transceiver", "trx":
		return pdu.Transceiver, nil
	case "transmitter", "tx":
		return pdu.Transmitter, nil
	case "receiver", "rx":
		return pdu.Receiver, nil
	}
	return 0, fmt.Errorf("%q is not transceiver, transmitter or receiver", cc.Bind)
}

// textOptions turns the carrier's encoding settings into smstext options.
func (cc *CarrierConfig) textOptions() (smstext.Options, error) {
	var o smstext.Options
	switch cc.Concat {
	case "", "udh8", "udh":
		o.Concat = smstext.ConcatUDH8
	case "udh16":
		o.Concat = smstext.ConcatUDH16
	case "sar":
		o.Concat = smstext.ConcatSAR
	case "payload":
		o.Concat = smstext.ConcatPayload
	default:
		return o, fmt.Errorf("concat: %q is not udh8, udh16, sar or payload", cc.Concat)
	}
	switch cc.Encoding {
	case "", "auto":
	case "ucs2":
		o.Encoding = smstext.UCS2
	case "latin1":
		o.Encoding = smstext.Latin1
	default:
		return o, fmt.Errorf("encoding: %q is not auto, ucs2 or latin1", cc.Encoding)
	}
	for _, name := range cc.Languages {
		found := false
		for _, l := range smstext.Languages() {
			if strings.EqualFold(l.String(), name) {
				o.Languages = append(o.Languages, l)
				found = true
			}
		}
		if !found {
			return o, fmt.Errorf("languages: unknown national table %q", name)
		}
	}
	o.Packed = cc.Packed
	return o, nil
}
