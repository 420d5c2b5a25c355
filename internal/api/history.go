package api

import (
	"net/http"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// eventView is an item of GET /v1/messages/{id}/events. It has the shape
// of a webhook body (id, type, timestamp, data) but its data says what
// the event recorded, not the whole message: the history only knows the
// message as it is now.
type eventView struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      eventData `json:"data"`
}

type eventData struct {
	MessageID   string        `json:"message_id"`
	Status      herald.Status `json:"status"`
	PartSeq     int           `json:"part_seq,omitempty"`
	Carrier     string        `json:"carrier,omitempty"`
	CarrierCode string        `json:"carrier_code,omitempty"`
	Detail      string        `json:"detail,omitempty"`
}

// deliveryView is an item of GET /v1/messages/{id}/deliveries: one event
// sent (or being sent) to one webhook URL. Secrets and payloads are never
// shown.
type deliveryView struct {
	ID          string     `json:"id"`
	Object      string     `json:"object"` // "delivery"
	EventID     string     `json:"event_id"`
	EndpointID  string     `json:"endpoint_id,omitempty"` // empty for the message's callback_url
	URL         string     `json:"url"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	LastStatus  int        `json:"last_status,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	NextAt      *time.Time `json:"next_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

type listOf[T any] struct {
	Data []T `json:"data"`
}

// messageEvents answers GET /v1/messages/{id}/events, oldest first.
func (s *Server) messageEvents(w http.ResponseWriter, r *http.Request, account string) error {
	id, err := s.ownMessage(r, account)
	if err != nil {
		return err
	}
	evs, err := s.store.Events(r.Context(), account, id)
	if err != nil {
		return storeError(err, "message")
	}
	out := listOf[eventView]{Data: make([]eventView, 0, len(evs))}
	for _, e := range evs {
		out.Data = append(out.Data, eventView{
			ID: e.ID, Type: e.Type, Timestamp: e.At.UTC(),
			Data: eventData{MessageID: e.MessageID, Status: e.Status, PartSeq: e.PartSeq,
				Carrier: e.Carrier, CarrierCode: e.CarrierCode, Detail: e.Detail},
		})
	}
	return writeJSON(w, http.StatusOK, out)
}

// messageDeliveries answers GET /v1/messages/{id}/deliveries.
func (s *Server) messageDeliveries(w http.ResponseWriter, r *http.Request, account string) error {
	id, err := s.ownMessage(r, account)
	if err != nil {
		return err
	}
	ds, err := s.store.Deliveries(r.Context(), account, id)
	if err != nil {
		return storeError(err, "message")
	}
	out := listOf[deliveryView]{Data: make([]deliveryView, 0, len(ds))}
	for _, d := range ds {
		v := deliveryView{
			ID: d.ID, Object: "delivery", EventID: d.EventID, EndpointID: d.EndpointID,
			URL: d.URL, State: d.State, Attempts: d.Attempts, LastStatus: d.LastStatus,
			LastError: d.LastError, CreatedAt: d.CreatedAt.UTC(), DeliveredAt: optTime(d.DeliveredAt),
		}
		if d.State == "pending" {
			v.NextAt = optTime(d.NextAt)
		}
		out.Data = append(out.Data, v)
	}
	return writeJSON(w, http.StatusOK, out)
}

// ownMessage returns the {id} of the request after checking that it is
// one of the account's messages, so that an unknown id and another
// account's both answer 404 rather than an empty list.
func (s *Server) ownMessage(r *http.Request, account string) (string, error) {
	id, err := pathID(r, "message")
	if err != nil {
		return "", err
	}
	if _, err := s.store.Message(r.Context(), account, id, false); err != nil {
		return "", storeError(err, "message")
	}
	return id, nil
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
