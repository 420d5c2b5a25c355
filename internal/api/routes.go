package api

import (
	"net/http"
	"slices"
)

// route is one endpoint. The table below is the single list of endpoints:
// New registers it on the mux and a test checks openapi.json against it.
type route struct {
	method string
	path   string // net/http pattern syntax, which is also OpenAPI's
	public bool   // served without authentication
	// serve handles the request for the authenticated account ("" when
	// public); a returned error becomes the answer.
	serve func(s *Server, w http.ResponseWriter, r *http.Request, account string) error
}

var routes = []route{
	{http.MethodGet, "/healthz", true, (*Server).health},
	{http.MethodGet, "/v1/openapi.json", true, (*Server).openAPI},

	{http.MethodPost, "/v1/messages", false, (*Server).createMessage},
	{http.MethodPost, "/v1/messages/batch", false, (*Server).createBatch},
	{http.MethodGet, "/v1/messages", false, (*Server).listMessages},
	{http.MethodGet, "/v1/messages/{id}", false, (*Server).getMessage},
	{http.MethodGet, "/v1/messages/{id}/events", false, (*Server).messageEvents},
	{http.MethodGet, "/v1/messages/{id}/deliveries", false, (*Server).messageDeliveries},
	{http.MethodPost, "/v1/messages/{id}/cancel", false, (*Server).cancelMessage},

	{http.MethodPost, "/v1/text/analyze", false, (*Server).analyze},

	{http.MethodPost, "/v1/webhooks", false, (*Server).createWebhook},
	{http.MethodGet, "/v1/webhooks", false, (*Server).listWebhooks},
	{http.MethodDelete, "/v1/webhooks/{id}", false, (*Server).deleteWebhook},

	{http.MethodPost, "/v1/senders", false, (*Server).createSender},
	{http.MethodGet, "/v1/senders", false, (*Server).listSenders},
	{http.MethodDelete, "/v1/senders/{id}", false, (*Server).deleteSender},
	{http.MethodGet, "/v1/policy", false, (*Server).getPolicy},
	{http.MethodPut, "/v1/policy", false, (*Server).putPolicy},
	{http.MethodGet, "/v1/inbound", false, (*Server).listInbound},
	{http.MethodGet, "/v1/inbound/{id}", false, (*Server).getInbound},
	{http.MethodGet, "/v1/conversations/{number}", false, (*Server).conversation},
	{http.MethodGet, "/v1/opt-outs", false, (*Server).listOptOuts},
	{http.MethodPost, "/v1/opt-outs", false, (*Server).addOptOut},
	{http.MethodDelete, "/v1/opt-outs/{number}", false, (*Server).removeOptOut},
	{http.MethodGet, "/v1/opt-outs/ledger", false, (*Server).consentLedger},
	{http.MethodGet, "/v1/opt-outs/export", false, (*Server).exportOptOuts},
	{http.MethodPost, "/v1/opt-outs/import", false, (*Server).importOptOuts},
	{http.MethodPost, "/v1/verifications", false, (*Server).createVerification},
	{http.MethodPost, "/v1/verifications/unlock", false, (*Server).unlockVerifications},
	{http.MethodGet, "/v1/verifications/{id}", false, (*Server).getVerification},
	{http.MethodPost, "/v1/verifications/{id}/check", false, (*Server).checkVerification},
	{http.MethodPost, "/v1/verifications/{id}/cancel", false, (*Server).cancelVerification},

	{http.MethodGet, "/v1/fraud/blocks", false, (*Server).listFraudBlocks},
	{http.MethodGet, "/v1/fraud/conversion", false, (*Server).fraudConversion},
	{http.MethodPost, "/v1/fraud/blocks/{id}/unblock", false, (*Server).unblockFraudBlock},
	{http.MethodPost, "/v1/smpp-users", false, (*Server).createSMPPUser},
	{http.MethodGet, "/v1/smpp-users", false, (*Server).listSMPPUsers},
	{http.MethodDelete, "/v1/smpp-users/{id}", false, (*Server).deleteSMPPUser},
}

// routeMethods returns the distinct methods of the table, sorted.
func routeMethods() []string {
	var ms []string
	for _, rt := range routes {
		if !slices.Contains(ms, rt.method) {
			ms = append(ms, rt.method)
		}
	}
	slices.Sort(ms)
	return ms
}

// health answers GET /healthz. It says the process serves HTTP; it does
// not probe the store.
func (s *Server) health(w http.ResponseWriter, r *http.Request, _ string) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
