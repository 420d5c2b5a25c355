package smscsim

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Handler returns the HTTP API: GET /stats (the Stats as JSON),
// POST /stats/reset-peaks (ResetPeaks; 204) and POST /mo (inject a
// mobile-originated message). It is what Options.HTTPAddr serves, for
// mounting elsewhere or testing with net/http/httptest.
func (sim *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", sim.handleStats)
	mux.HandleFunc("POST /stats/reset-peaks", sim.handleResetPeaks)
	mux.HandleFunc("POST /mo", sim.handleMO)
	return mux
}

func (sim *Simulator) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, sim.Stats())
}

func (sim *Simulator) handleResetPeaks(w http.ResponseWriter, _ *http.Request) {
	sim.ResetPeaks()
	w.WriteHeader(http.StatusNoContent)
}

// moRequest is the body of POST /mo.
type moRequest struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Text     string `json:"text"`
	SystemID string `json:"system_id"`
	Reverse  bool   `json:"reverse"` // parts last first
	Spread   bool   `json:"spread"`  // each part on the next receiver bind
}

// handleMO injects an MO and answers once the ESME has acknowledged it:
// 202 with {"system_id","parts"}; 400 for a bad body; 409 when no
// receiver is bound; 502 when the ESME refused it or the link failed.
func (sim *Simulator) handleMO(w http.ResponseWriter, r *http.Request) {
	var req moRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid json: "+err.Error())
		return
	}
	res, err := sim.Inject(r.Context(), MO{From: req.From, To: req.To, Text: req.Text, SystemID: req.SystemID, Reverse: req.Reverse, Spread: req.Spread})
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, res)
	case errors.Is(err, ErrInvalidMO):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNoReceiver):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusBadGateway, err.Error())
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
