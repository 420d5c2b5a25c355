package api

import (
	"context"
	"net/http"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// SMPPUsers is the storage the /v1/smpp-users endpoints need (a part of
// store.Store). Without it (Options.SMPPUsers nil) they answer 404.
type SMPPUsers interface {
	CreateSMPPUser(ctx context.Context, u *herald.SMPPUser) error
	SMPPUsers(ctx context.Context, accountID string) ([]*herald.SMPPUser, error)
	DeleteSMPPUser(ctx context.Context, accountID, id string) error
}

type smppUserRequest struct {
	SystemID   string   `json:"system_id"`
	Password   string   `json:"password"`
	MaxBinds   int      `json:"max_binds"`
	RateLimit  float64  `json:"rate_limit"`
	AllowedIPs []string `json:"allowed_ips"`
}

// smppUserView is the JSON form of an SMPP user. Password is set only in
// the answer to its creation, and only when Herald generated it.
type smppUserView struct {
	ID         string    `json:"id"`
	Object     string    `json:"object"` // "smpp_user"
	SystemID   string    `json:"system_id"`
	MaxBinds   int       `json:"max_binds"`
	RateLimit  float64   `json:"rate_limit"`
	AllowedIPs []string  `json:"allowed_ips"`
	CreatedAt  time.Time `json:"created_at"`
	Password   string    `json:"password,omitempty"`
}

func viewSMPPUser(u *herald.SMPPUser) smppUserView {
	ips := u.AllowedIPs
	if ips == nil {
		ips = []string{}
	}
	maxBinds := u.MaxBinds
	if maxBinds == 0 {
		maxBinds = herald.DefaultMaxBinds
	}
	return smppUserView{ID: u.ID, Object: "smpp_user", SystemID: u.SystemID, MaxBinds: maxBinds, RateLimit: u.RateLimit,
		AllowedIPs: ips, CreatedAt: u.CreatedAt.UTC()}
}

// createSMPPUser answers POST /v1/smpp-users: 201 with the user and, when
// the request gave none, its generated password, which is never shown
// again.
func (s *Server) createSMPPUser(w http.ResponseWriter, r *http.Request, account string) error {
	if s.smppUsers == nil {
		return notFound("route")
	}
	var req smppUserRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	generated := req.Password == ""
	password := req.Password
	if generated {
		password = herald.NewSMPPPassword()
	} else if len(password) > 64 {
		return fieldError(codeInvalidPassword, "password", "password must be at most 64 characters")
	}
	now := s.now()
	u := &herald.SMPPUser{ID: herald.NewID("smu", now.UnixMilli()), AccountID: account, SystemID: req.SystemID,
		PasswordHash: herald.HashSMPPPassword(password), MaxBinds: req.MaxBinds, RateLimit: req.RateLimit,
		AllowedIPs: req.AllowedIPs, CreatedAt: now.UTC()}
	if err := herald.ValidateSMPPUser(u); err != nil {
		return err
	}
	if err := s.smppUsers.CreateSMPPUser(r.Context(), u); err != nil {
		return storeError(err, "smpp user")
	}
	v := viewSMPPUser(u)
	if generated {
		v.Password = password
	}
	return writeJSON(w, http.StatusCreated, v)
}

// listSMPPUsers answers GET /v1/smpp-users (without passwords).
func (s *Server) listSMPPUsers(w http.ResponseWriter, r *http.Request, account string) error {
	if s.smppUsers == nil {
		return notFound("route")
	}
	us, err := s.smppUsers.SMPPUsers(r.Context(), account)
	if err != nil {
		return storeError(err, "smpp user")
	}
	out := listOf[smppUserView]{Data: make([]smppUserView, 0, len(us))}
	for _, u := range us {
		out.Data = append(out.Data, viewSMPPUser(u))
	}
	return writeJSON(w, http.StatusOK, out)
}

// deleteSMPPUser answers DELETE /v1/smpp-users/{id} with 204. Sessions
// already bound stay bound until they end.
func (s *Server) deleteSMPPUser(w http.ResponseWriter, r *http.Request, account string) error {
	if s.smppUsers == nil {
		return notFound("route")
	}
	id, err := pathID(r, "smpp user")
	if err != nil {
		return err
	}
	if err := s.smppUsers.DeleteSMPPUser(r.Context(), account, id); err != nil {
		return storeError(err, "smpp user")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
