package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 description of the whole API, written by
// hand; TestOpenAPIMatchesRoutes keeps it in step with the route table
// and the error codes.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI answers GET /v1/openapi.json.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request, _ string) error {
	writeRaw(w, http.StatusOK, openAPIDoc)
	return nil
}
