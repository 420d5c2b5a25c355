package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// Limits on a webhook endpoint.
const (
	maxURL    = 2048
	maxEvents = 100
)

type webhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// webhookView is the JSON form of a webhook endpoint. Secret is set only
// in the answer to its creation.
type webhookView struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"` // "webhook_endpoint"
	URL       string    `json:"url"`
	Events    []string  `json:"events"` // empty: every event
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	Secret    string    `json:"secret,omitempty"`
}

func viewWebhook(e *herald.WebhookEndpoint) webhookView {
	evs := e.Events
	if evs == nil {
		evs = []string{}
	}
	return webhookView{ID: e.ID, Object: "webhook_endpoint", URL: e.URL, Events: evs,
		Disabled: e.Disabled, CreatedAt: e.CreatedAt.UTC()}
}

// eventTypes lists the event types an endpoint can subscribe to.
var eventTypes = func() []string {
	var ts []string
	for _, s := range herald.AllStatuses {
		ts = append(ts, "message."+string(s), "part."+string(s))
	}
	return append(ts, herald.EventFraudBlocked, herald.EventFraudUnblocked)
}()

// createWebhook answers POST /v1/webhooks: 201 with the endpoint and its
// signing secret, which is never shown again.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, account string) error {
	var req webhookRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.URL == "":
		return fieldError(codeInvalidURL, "url", "url is required")
	case len(req.URL) > maxURL:
		return fieldError(codeInvalidURL, "url", fmt.Sprintf("url is longer than %d characters", maxURL))
	}
	if err := s.checkURL(req.URL, s.allowLoopback); err != nil {
		return fieldError(codeInvalidURL, "url", "url is not one Herald may send webhooks to: "+err.Error())
	}
	if len(req.Events) > maxEvents {
		return fieldError(codeInvalidEventType, "events", fmt.Sprintf("events holds at most %d entries", maxEvents))
	}
	for i, ev := range req.Events {
		if !knownEventFilter(ev) {
			return fieldError(codeInvalidEventType, fmt.Sprintf("events[%d]", i),
				fmt.Sprintf("%q matches no event type (such as message.delivered or message.*)", ev))
		}
	}
	now := s.now()
	e := &herald.WebhookEndpoint{
		ID:        herald.NewID("whk", now.UnixMilli()),
		AccountID: account,
		URL:       req.URL,
		Secret:    s.newSecret(),
		Events:    req.Events,
		CreatedAt: now.UTC(),
	}
	if err := s.store.CreateEndpoint(r.Context(), e); err != nil {
		return storeError(err, "webhook endpoint")
	}
	v := viewWebhook(e)
	v.Secret = e.Secret
	return writeJSON(w, http.StatusCreated, v)
}

// knownEventFilter reports whether f, an event type or a prefix ending in
// "*", matches at least one event type.
func knownEventFilter(f string) bool {
	if len(f) > 64 {
		return false
	}
	probe := herald.WebhookEndpoint{Events: []string{f}}
	for _, t := range eventTypes {
		if probe.Wants(t) {
			return true
		}
	}
	return false
}

// listWebhooks answers GET /v1/webhooks (without secrets).
func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, account string) error {
	es, err := s.store.Endpoints(r.Context(), account)
	if err != nil {
		return storeError(err, "webhook endpoint")
	}
	out := listOf[webhookView]{Data: make([]webhookView, 0, len(es))}
	for _, e := range es {
		out.Data = append(out.Data, viewWebhook(e))
	}
	return writeJSON(w, http.StatusOK, out)
}

// deleteWebhook answers DELETE /v1/webhooks/{id} with 204.
func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, account string) error {
	id, err := pathID(r, "webhook endpoint")
	if err != nil {
		return err
	}
	if err := s.store.DeleteEndpoint(r.Context(), account, id); err != nil {
		return storeError(err, "webhook endpoint")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
