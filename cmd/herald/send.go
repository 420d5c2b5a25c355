package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// defaultURL is the API address of a `herald serve` with no configuration.
const defaultURL = "http://127.0.0.1:8080"

// apiClient calls the HTTP API of a running Herald with one API key. It is
// the client side of `herald send` and `herald bench`.
type apiClient struct {
	base string // scheme://host[:port][/prefix], without a trailing slash
	key  string
	http *http.Client
}

// newAPIClient checks base and returns a client for it.
func newAPIClient(base, key string, hc *http.Client) (*apiClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url: %q is not an http:// or https:// URL", base)
	}
	if key == "" {
		return nil, errors.New("no API key: give --key or set HERALD_API_KEY (herald keys create makes one)")
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &apiClient{base: strings.TrimRight(base, "/"), key: key, http: hc}, nil
}

// apiError is an error answer of the API: its HTTP status and the fields
// of its JSON error object.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", e.Status, e.Code)
	if e.Field != "" {
		fmt.Fprintf(&b, " (field %s)", e.Field)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// readAPIError builds the apiError of a non-2xx answer. An answer without
// the API's error shape (a proxy's page, say) gets the status text as code.
func readAPIError(status int, body []byte) *apiError {
	var eb struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	e := &apiError{Status: status}
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		e.Code, e.Message, e.Field = eb.Error.Code, eb.Error.Message, eb.Error.Field
		return e
	}
	e.Code = strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
	if e.Code == "" {
		e.Code = "http_error"
	}
	return e
}

// do sends a request with body (JSON, nil for none) and returns the
// answer's header and body. A non-2xx answer is returned as *apiError;
// any other error means there was no answer.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, header http.Header) (http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, out, readAPIError(resp.StatusCode, out)
	}
	return resp.Header, out, nil
}

// doJSON is do with the 2xx answer decoded into out (when not nil).
func (c *apiClient) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	_, b, err := c.do(ctx, method, path, body, nil)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the expected JSON: %w", method, path, err)
	}
	return nil
}

// clientFlags adds --url and --key to fs. The environment is read after
// parsing (see resolve), so that -h never prints a key taken from it.
type clientFlags struct {
	url, key string
}

func (cf *clientFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&cf.url, "url", "", "Herald API `URL` (default $HERALD_URL or "+defaultURL+")")
	fs.StringVar(&cf.key, "key", "", "API `key` (default $HERALD_API_KEY)")
}

// resolve fills what the flags left empty from the environment.
func (cf *clientFlags) resolve(getenv func(string) string) {
	if cf.url == "" {
		cf.url = getenv("HERALD_URL")
	}
	if cf.url == "" {
		cf.url = defaultURL
	}
	if cf.key == "" {
		cf.key = getenv("HERALD_API_KEY")
	}
}

// sendRequest is the body of POST /v1/messages that `herald send` builds.
type sendRequest struct {
	To          string `json:"to"`
	From        string `json:"from,omitempty"`
	Body        string `json:"body"`
	Type        string `json:"type,omitempty"`
	CallbackURL string `json:"callback_url,omitempty"`
}

// sendPollInterval is how often `herald send --wait` asks for the status.
const sendPollInterval = 200 * time.Millisecond

// runSend is `herald send`: one message through a running server.
func (m *Main) runSend(ctx context.Context, args []string) error {
	fs := m.flagSet("send", "--to NUMBER --body TEXT [flags]")
	var cf clientFlags
	cf.add(fs)
	var req sendRequest
	fs.StringVar(&req.To, "to", "", "destination `number` (E.164, or national with the server's default region)")
	fs.StringVar(&req.Body, "body", "", "message `text`")
	fs.StringVar(&req.From, "from", "", "`sender` (default: the server's default_from)")
	fs.StringVar(&req.Type, "type", "", "message `type` (transactional, otp, marketing)")
	fs.StringVar(&req.CallbackURL, "callback-url", "", "`URL` that receives this message's webhooks")
	idem := fs.String("idempotency-key", "", "Idempotency-Key `key`: a retry with the same key sends nothing twice")
	wait := fs.Bool("wait", false, "wait for a final status and print it; exit 1 unless it is delivered")
	waitTimeout := fs.Duration("wait-timeout", 2*time.Minute, "with --wait, give up after this `duration`")
	asJSON := fs.Bool("json", false, "print the message as JSON (with --wait: as it is at the end)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if req.To == "" || req.Body == "" {
		return usageErrorf(fs, "--to and --body are required")
	}
	cf.resolve(os.Getenv)
	c, err := newAPIClient(cf.url, cf.key, nil)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}

	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var h http.Header
	if *idem != "" {
		h = http.Header{"Idempotency-Key": {*idem}}
	}
	hdr, out, err := c.do(ctx, http.MethodPost, "/v1/messages", body, h)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	var msg herald.MessageView
	if err := json.Unmarshal(out, &msg); err != nil || msg.ID == "" {
		return fmt.Errorf("send: the answer is not a message: %.200s", out)
	}
	if !*asJSON {
		replayed := ""
		if hdr.Get("Idempotent-Replayed") == "true" {
			replayed = " (replayed: sent before with this idempotency key)"
		}
		fmt.Fprintf(m.Stdout, "%s %s%s\n", msg.ID, msg.Status, replayed)
	}
	if *wait {
		wctx, cancel := context.WithTimeout(ctx, *waitTimeout)
		defer cancel()
		last, werr := waitFinal(wctx, c, msg.ID, sendPollInterval)
		if last != nil {
			msg = *last
		}
		if werr != nil {
			if *asJSON {
				printJSON(m.Stdout, msg)
			}
			if errors.Is(werr, context.DeadlineExceeded) && ctx.Err() == nil {
				return fmt.Errorf("send: %s is still %s after %v", msg.ID, msg.Status, *waitTimeout)
			}
			return fmt.Errorf("send: waiting for %s: %w", msg.ID, werr)
		}
	}
	if *asJSON {
		printJSON(m.Stdout, msg)
	} else if *wait {
		fmt.Fprintf(m.Stdout, "%s %s%s\n", msg.ID, msg.Status, messageError(msg))
	}
	if *wait && msg.Status != herald.StatusDelivered {
		return fmt.Errorf("send: %s is %s%s", msg.ID, msg.Status, messageError(msg))
	}
	return nil
}

// waitFinal polls GET /v1/messages/{id} every interval until the message
// has a final status or ctx ends, and returns the last view it got.
func waitFinal(ctx context.Context, c *apiClient, id string, interval time.Duration) (*herald.MessageView, error) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last *herald.MessageView
	for {
		var v herald.MessageView
		err := c.doJSON(ctx, http.MethodGet, "/v1/messages/"+url.PathEscape(id), nil, &v)
		switch {
		case err == nil:
			last = &v
			if v.Status.Final() {
				return last, nil
			}
		case ctx.Err() != nil:
			return last, ctx.Err()
		default:
			var ae *apiError
			if errors.As(err, &ae) && ae.Status < 500 {
				return last, err // a 404 or 401 will not go away
			}
			// A 5xx or a broken connection may: try again.
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-tick.C:
		}
	}
}

// messageError renders a message's error fields, if any, as " (code: text)".
func messageError(v herald.MessageView) string {
	switch {
	case v.ErrorCode != "" && v.ErrorMessage != "":
		return fmt.Sprintf(" (%s: %s)", v.ErrorCode, v.ErrorMessage)
	case v.ErrorCode != "":
		return " (" + v.ErrorCode + ")"
	}
	return ""
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
