package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// Page sizes of GET /v1/messages.
const (
	defaultLimit = 50
	maxLimit     = 1000
	maxCursor    = 1024 // longest cursor accepted, in characters
)

type messageList struct {
	Data       []herald.MessageView `json:"data"`
	NextCursor *string              `json:"next_cursor"` // null on the last page
}

// listMessages answers GET /v1/messages: the account's messages, newest
// first, filtered by the query, a page at a time.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, account string) error {
	if r.URL.Query().Get("direction") == string(herald.Inbound) {
		return s.listInbound(w, r, account)
	}
	f, err := messageFilter(r)
	if err != nil {
		return err
	}
	ms, next, err := s.store.ListMessages(r.Context(), account, f)
	if err != nil {
		if f.Cursor != "" && herald.ErrorKind(err) == herald.KindInvalid {
			return fieldError(codeInvalidCursor, "cursor", "cursor is not one this API returned")
		}
		return storeError(err, "message")
	}
	out := messageList{Data: make([]herald.MessageView, 0, len(ms))}
	for _, m := range ms {
		out.Data = append(out.Data, m.View())
	}
	if next != "" {
		c := encodeCursor(next)
		out.NextCursor = &c
	}
	return writeJSON(w, http.StatusOK, out)
}

// messageFilter parses the query of GET /v1/messages. Every parameter is
// optional and may appear once; unknown parameters are refused so that a
// misspelt filter does not silently list everything.
func messageFilter(r *http.Request) (store.MessageFilter, error) {
	f := store.MessageFilter{Limit: defaultLimit}
	q, err := urlQuery(r)
	if err != nil {
		return f, err
	}
	for name, vs := range q {
		if len(vs) != 1 {
			return f, fieldError(codeInvalidParameter, name, name+" must be given once")
		}
		v := vs[0]
		switch name {
		case "status":
			f.Status = herald.Status(v)
			if !f.Status.Valid() {
				return f, fieldError(codeInvalidParameter, name, "status must be one of the message statuses")
			}
		case "type":
			f.Type = herald.MessageType(v)
			if !f.Type.Valid() {
				return f, fieldError(codeInvalidParameter, name, "type must be otp, transactional or marketing")
			}
		case "to":
			f.To = v
		case "reference":
			f.Reference = v
		case "direction":
			if v != string(herald.Outbound) {
				return f, fieldError(codeInvalidParameter, name, "direction is inbound or outbound")
			}
		case "created_after", "created_before":
			t, ok := parseTime(v)
			if !ok {
				return f, fieldError(codeInvalidParameter, name, name+" must be an RFC 3339 timestamp such as 2030-01-02T15:04:05Z")
			}
			if name == "created_after" {
				f.After = t
			} else {
				f.Before = t
			}
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLimit {
				return f, fieldError(codeInvalidParameter, name, fmt.Sprintf("limit must be an integer from 1 to %d", maxLimit))
			}
			f.Limit = n
		case "cursor":
			c, ok := decodeCursor(v)
			if !ok {
				return f, fieldError(codeInvalidCursor, name, "cursor is not one this API returned")
			}
			f.Cursor = c
		default:
			return f, fieldError(codeUnknownParameter, name, fmt.Sprintf("unknown query parameter %q", name))
		}
	}
	return f, nil
}

func urlQuery(r *http.Request) (map[string][]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apiError(herald.KindInvalid, codeInvalidParameter, "the query string is malformed")
	}
	return q, nil
}

// parseTime parses an RFC 3339 timestamp. A "+" in a query string decodes
// as a space, so a space before the zone offset is taken for a "+".
func parseTime(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && strings.Contains(v, " ") {
		t, err = time.Parse(time.RFC3339Nano, strings.ReplaceAll(v, " ", "+"))
	}
	return t, err == nil
}

// Cursors are the store's opaque cursor with a 4-byte checksum, in
// unpadded base64url: a truncated, edited or invented cursor is refused
// here with 400 rather than reaching the store. The checksum is not a
// signature; the store still validates what it is given.
func encodeCursor(c string) string {
	sum := sha256.Sum256([]byte(c))
	return base64.RawURLEncoding.EncodeToString(append(sum[:4:4], c...))
}

func decodeCursor(s string) (string, bool) {
	if s == "" || len(s) > maxCursor {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 5 {
		return "", false
	}
	sum := sha256.Sum256(b[4:])
	if !bytes.Equal(sum[:4], b[:4]) {
		return "", false
	}
	return string(b[4:]), true
}
