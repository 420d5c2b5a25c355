package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/verify"
)

// Verifier is the Verify API's service (internal/verify implements it).
// Its refusals are *herald.Error; rate limits carry RetryAfter.
type Verifier interface {
	Start(ctx context.Context, accountID string, r verify.StartRequest) (*herald.Verification, error)
	Check(ctx context.Context, accountID, id, code string) (verify.CheckAnswer, error)
	Get(ctx context.Context, accountID, id string) (*herald.Verification, error)
	Cancel(ctx context.Context, accountID, id string) (*herald.Verification, error)
	ViewOf(v *herald.Verification) verify.View
	Unlock(ctx context.Context, accountID, to string) (string, int, error)
}

// unlockRequest is the body of POST /v1/verifications/unlock.
type unlockRequest struct {
	To string `json:"to"`
}

// unlockAnswer is its answer.
type unlockAnswer struct {
	Object          string `json:"object"` // "verification_unlock"
	To              string `json:"to"`
	FailuresCleared int    `json:"failures_cleared"`
}

// unlockVerifications answers POST /v1/verifications/unlock: the number's
// consecutive failed checks are cleared.
func (s *Server) unlockVerifications(w http.ResponseWriter, r *http.Request, account string) error {
	var req unlockRequest
	vf, err := s.verifyRequest(w, r, &req)
	if err != nil {
		return err
	}
	to, n, err := vf.Unlock(r.Context(), account, req.To)
	if err != nil {
		return submitError(err)
	}
	return writeJSON(w, http.StatusOK, unlockAnswer{Object: "verification_unlock", To: to, FailuresCleared: n})
}

// checkRequest is the body of POST /v1/verifications/{id}/check.
type checkRequest struct {
	Code string `json:"code"`
}

// verifyRequest returns the Verify service and decodes the request's body
// into v.
func (s *Server) verifyRequest(w http.ResponseWriter, r *http.Request, v any) (Verifier, error) {
	vf, err := s.verifier()
	if err != nil {
		return nil, err
	}
	if err := readJSON(w, r, v); err != nil {
		return nil, err
	}
	return vf, nil
}

func (s *Server) verifier() (Verifier, error) {
	if s.verify == nil {
		return nil, notFound("route")
	}
	return s.verify, nil
}

// createVerification answers POST /v1/verifications: 201 with the
// verification, new or (for a number with one pending) resent with a new
// code.
func (s *Server) createVerification(w http.ResponseWriter, r *http.Request, account string) error {
	var req verify.StartRequest
	vf, err := s.verifyRequest(w, r, &req)
	if err != nil {
		return err
	}
	v, err := vf.Start(r.Context(), account, req)
	if err != nil {
		return submitError(err)
	}
	w.Header().Set("Location", "/v1/verifications/"+url.PathEscape(v.ID))
	return writeJSON(w, http.StatusCreated, vf.ViewOf(v))
}

// checkVerification answers POST /v1/verifications/{id}/check. An
// unknown id (or another account's) is answered like a wrong code.
func (s *Server) checkVerification(w http.ResponseWriter, r *http.Request, account string) error {
	vf, err := s.verifier()
	if err != nil {
		return err
	}
	id, err := pathID(r, "verification")
	if err != nil {
		// Not an id at all: still answered like a wrong code, after the
		// same work, so that the path tells nothing.
		id = "ver_invalid"
	}
	var req checkRequest
	if _, err := s.verifyRequest(w, r, &req); err != nil {
		return err
	}
	a, err := vf.Check(r.Context(), account, id, req.Code)
	if err != nil {
		return submitError(err)
	}
	return writeJSON(w, http.StatusOK, a)
}

// getVerification answers GET /v1/verifications/{id}.
func (s *Server) getVerification(w http.ResponseWriter, r *http.Request, account string) error {
	return s.onVerification(w, r, account, Verifier.Get)
}

// cancelVerification answers POST /v1/verifications/{id}/cancel.
func (s *Server) cancelVerification(w http.ResponseWriter, r *http.Request, account string) error {
	return s.onVerification(w, r, account, Verifier.Cancel)
}

// onVerification answers with the verification that act returns for the
// {id} of the path.
func (s *Server) onVerification(w http.ResponseWriter, r *http.Request, account string,
	act func(Verifier, context.Context, string, string) (*herald.Verification, error)) error {
	vf, err := s.verifier()
	if err != nil {
		return err
	}
	id, err := pathID(r, "verification")
	if err != nil {
		return err
	}
	v, err := act(vf, r.Context(), account, id)
	if err != nil {
		return storeError(err, "verification")
	}
	return writeJSON(w, http.StatusOK, vf.ViewOf(v))
}
