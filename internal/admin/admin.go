// Package admin serves Herald's operator endpoints: the state of every
// carrier (binds, window use, rate, queue depth, delivery rate) and a
// configuration reload. They are for the operator, not for accounts: an
// operator token guards them, and without one they do not exist.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
)

// Options configure the handler.
type Options struct {
	// Token is the operator's bearer token. Required.
	Token string
	// Carriers returns the state of every carrier.
	Carriers func() any
	// Reload asks for a configuration reload (as SIGHUP does); it
	// returns at once, the outcome is logged.
	Reload func()
	// Cluster, when set, describes the cluster's nodes (GET /v1/cluster);
	// without it the node runs alone.
	Cluster func(ctx context.Context) (any, error)
}

// Handler serves GET /v1/carriers, GET /v1/cluster and POST
// /v1/admin/reload.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/carriers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"carriers": o.Carriers()})
	})
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		if o.Cluster == nil {
			writeJSON(w, http.StatusOK, map[string]any{"clustered": false, "nodes": []any{}})
			return
		}
		v, err := o.Cluster(r.Context())
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]string{
				"code": "store_unavailable", "message": "the cluster's state cannot be read from the database"}})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("POST /v1/admin/reload", func(w http.ResponseWriter, r *http.Request) {
		o.Reload()
		writeJSON(w, http.StatusAccepted, map[string]any{"reload": "requested"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || o.Token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(o.Token)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{
				"code": "unauthorized", "message": "an operator token is required"}})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
