package webhook

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"

	"github.com/herald-sms/herald/internal/herald"
)

// maxReply bounds the response body read for a reply.
const maxReply = 8 << 10

// readReply returns the "reply" of a 2xx JSON answer to a
// message.received delivery ({"reply":"…"}), or "".
func readReply(d *herald.Delivery, resp *http.Response) string {
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return ""
	}
	var ev struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(d.Payload, &ev) != nil || ev.Type != herald.EventMessageReceived {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	var r struct {
		Reply string `json:"reply"`
	}
	if json.Unmarshal(b, &r) != nil {
		return ""
	}
	return r.Reply
}
