package api

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/store"
)

// createMessage answers POST /v1/messages: 202 with the message, or the
// first answer again (with Idempotent-Replayed: true) for a retry.
func (s *Server) createMessage(w http.ResponseWriter, r *http.Request, account string) error {
	idem, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	var req intake.Request
	if e := decodeJSON(body, &req); e != nil {
		return e
	}
	idem.Hash = requestHash(r, body)
	results, err := s.intake.Submit(r.Context(), account, []intake.Request{req}, idem, false)
	if err != nil {
		return submitError(err)
	}
	if len(results) != 1 {
		return fmt.Errorf("intake returned %d results for 1 request", len(results))
	}
	res := results[0]
	if res.Err != nil {
		return res.Err
	}
	if res.Message == nil {
		return errors.New("intake returned neither a message nor an error")
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/messages/"+url.PathEscape(res.Message.ID))
	return writeJSON(w, http.StatusAccepted, res.Message.View())
}

type batchRequest struct {
	Messages []json.RawMessage `json:"messages"`
}

type batchResponse struct {
	Data     []batchItem `json:"data"`
	Accepted int         `json:"accepted"`
	Rejected int         `json:"rejected"`
}

// batchItem is the outcome of one message of a batch: exactly one of
// Message and Error is set.
type batchItem struct {
	Index   int                 `json:"index"`
	Message *herald.MessageView `json:"message,omitempty"`
	Error   *errorObject        `json:"error,omitempty"`
}

// createBatch answers POST /v1/messages/batch. The envelope must be valid
// as a whole; each message then succeeds or fails on its own, and the
// answer is 202 with one item per message, in order. The accepted ones
// are committed together.
func (s *Server) createBatch(w http.ResponseWriter, r *http.Request, account string) error {
	idem, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r, maxBatchBody)
	if err != nil {
		return err
	}
	var batch batchRequest
	if e := decodeJSON(body, &batch); e != nil {
		return e
	}
	switch n := len(batch.Messages); {
	case n == 0:
		return fieldError(codeBatchEmpty, "messages", "messages must hold at least one message")
	case n > intake.MaxBatch:
		return fieldError(codeBatchTooLarge, "messages",
			fmt.Sprintf("a batch holds at most %d messages, not %d", intake.MaxBatch, n))
	}
	out := batchResponse{Data: make([]batchItem, len(batch.Messages))}
	var reqs []intake.Request
	var index []int // index[i] is the batch position of reqs[i]
	for i, raw := range batch.Messages {
		out.Data[i].Index = i
		var req intake.Request
		if e := decodeJSON(raw, &req); e != nil {
			_, obj, _ := publicError(e)
			out.Data[i].Error = &obj
			continue
		}
		reqs = append(reqs, req)
		index = append(index, i)
	}
	if len(reqs) > 0 {
		idem.Hash = requestHash(r, body)
		results, err := s.intake.Submit(r.Context(), account, reqs, idem, true)
		if err != nil {
			return submitError(err)
		}
		if len(results) != len(reqs) {
			return fmt.Errorf("intake returned %d results for %d requests", len(results), len(reqs))
		}
		replayed := false
		for j, res := range results {
			item := &out.Data[index[j]]
			switch {
			case res.Err != nil:
				if herald.ErrorKind(res.Err) == herald.KindConflict && errorCodeOf(res.Err) == codeIdempotencyKeyReused {
					// The key names the whole batch: refuse it whole.
					return res.Err
				}
				_, obj, hidden := publicError(res.Err)
				if hidden {
					s.log.ErrorContext(r.Context(), "api: batch item failed", "request_id", requestID(w),
						"index", index[j], "err", res.Err)
				}
				item.Error = &obj
			case res.Message == nil:
				return errors.New("intake returned neither a message nor an error")
			default:
				v := res.Message.View()
				item.Message = &v
				replayed = replayed || res.Replayed
			}
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
	}
	for _, it := range out.Data {
		if it.Error != nil {
			out.Rejected++
		} else {
			out.Accepted++
		}
	}
	return writeJSON(w, http.StatusAccepted, out)
}

func errorCodeOf(err error) string {
	if e, ok := errors.AsType[*herald.Error](err); ok {
		return e.Code
	}
	return ""
}

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// idempotencyKey returns the request's Idempotency-Key (1 to 255 visible
// ASCII characters), without its hash.
func idempotencyKey(r *http.Request) (intake.Idempotency, error) {
	vs := r.Header.Values("Idempotency-Key")
	if len(vs) == 0 {
		return intake.Idempotency{}, nil
	}
	bad := fieldError(codeInvalidIdempotencyKey, "Idempotency-Key",
		fmt.Sprintf("Idempotency-Key must be sent once, with 1 to %d visible ASCII characters", maxIdempotencyKey))
	k := vs[0]
	if len(vs) > 1 || k == "" || len(k) > maxIdempotencyKey {
		return intake.Idempotency{}, bad
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return intake.Idempotency{}, bad
		}
	}
	return intake.Idempotency{Key: k}, nil
}

// requestHash is the SHA-256 of the canonical request: method, path and
// raw body, so that the same key with other content is told apart.
func requestHash(r *http.Request, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(r.Method))
	h.Write([]byte{' '})
	h.Write([]byte(r.URL.Path))
	h.Write([]byte{'\n'})
	h.Write(body)
	return h.Sum(nil)
}

// submitError maps the request-level error of Intake.Submit: an
// application error of a kind a client can act on is passed on; anything
// else means the store could not commit.
func submitError(err error) error {
	switch herald.ErrorKind(err) {
	case herald.KindInternal, herald.KindTransient:
		return errStoreUnavailable(err)
	}
	return err
}

// storeError maps an error from a Store read or write: not found (for an
// unknown id or another account's) becomes the uniform 404, application
// errors pass, anything else means the store is unavailable.
func storeError(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) || herald.ErrorKind(err) == herald.KindNotFound {
		return notFound(what)
	}
	if _, ok := errors.AsType[*herald.Error](err); ok && herald.ErrorKind(err) != herald.KindInternal {
		return err
	}
	return errStoreUnavailable(err)
}

// pathID returns the {id} path value when it could be an id (1 to 128
// visible ASCII characters); anything else cannot exist.
func pathID(r *http.Request, what string) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > 128 {
		return "", notFound(what)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return "", notFound(what)
		}
	}
	return id, nil
}

// getMessage answers GET /v1/messages/{id}, with the message's parts.
func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, account string) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	m, err := s.store.Message(r.Context(), account, id, true)
	if err != nil {
		return storeError(err, "message")
	}
	if m == nil {
		return notFound("message")
	}
	return writeJSON(w, http.StatusOK, m.View())
}

// cancelMessage answers POST /v1/messages/{id}/cancel. The request body,
// if any, is ignored.
func (s *Server) cancelMessage(w http.ResponseWriter, r *http.Request, account string) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	m, err := s.intake.Cancel(r.Context(), account, id)
	if err != nil {
		return storeError(err, "message")
	}
	if m == nil {
		return notFound("message")
	}
	return writeJSON(w, http.StatusOK, m.View())
}
