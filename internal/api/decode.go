package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// Body size limits. A request over its limit is refused with 413 before
// more than limit+1 bytes are read (at once, when Content-Length says so).
const (
	maxBody      = 64 << 10 // one message, a webhook endpoint, a text to analyze
	maxBatchBody = 4 << 20  // POST /v1/messages/batch
)

// readJSON reads r's JSON body (at most maxBody bytes) into v, with the
// errors of readBody and decodeJSON. Handlers that also need the raw
// bytes (the idempotency hash) use those two directly.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r, maxBody)
	if err != nil {
		return err
	}
	if e := decodeJSON(body, v); e != nil {
		return e
	}
	return nil
}

// readBody checks that r carries JSON and returns its body, read through
// http.MaxBytesReader so that no more than limit bytes are ever buffered.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	tooLarge := apiError(herald.KindTooLarge, codeRequestTooLarge,
		fmt.Sprintf("the request body is larger than %d bytes", limit))
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		return nil, apiError(herald.KindInvalid, codeInvalidJSON, "could not read the request body")
	}
	return body, nil
}

// checkContentType accepts application/json with at most a UTF-8 charset.
func checkContentType(ct string) error {
	unsupported := apiError(herald.KindUnsupported, codeUnsupportedMediaType,
		"the request body must be sent with Content-Type: application/json")
	if ct == "" {
		return unsupported
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return unsupported
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return unsupported
		}
	}
	return nil
}

// decodeJSON decodes one JSON object from body into v, a pointer to a
// struct, refusing unknown fields and trailing data. Every failure is a
// KindInvalid *herald.Error with a malformed-request code (so a 400).
func decodeJSON(body []byte, v any) *herald.Error {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return apiError(herald.KindInvalid, codeInvalidJSON, "the request body is empty")
	}
	if trimmed[0] != '{' {
		return apiError(herald.KindInvalid, codeInvalidJSON, "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, body, v)
	}
	if err := dec.Decode(new(json.RawMessage)); err != io.EOF {
		return apiError(herald.KindInvalid, codeInvalidJSON, "unexpected data after the JSON object")
	}
	return nil
}

// decodeError classifies an error from json.Decoder.Decode.
func decodeError(err error, body []byte, v any) *herald.Error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return apiError(herald.KindInvalid, codeInvalidJSON,
			fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error()))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return apiError(herald.KindInvalid, codeInvalidJSON, "the JSON ends early")
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return apiError(herald.KindInvalid, codeInvalidJSON, "the request body must be a JSON object")
		}
		return fieldError(codeInvalidFieldType, te.Field,
			fmt.Sprintf("%s must be %s, not %s", te.Field, describeType(te.Type), jsonValueKind(te.Value)))
	}
	// encoding/json has no error type for unknown fields.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if n, uerr := strconv.Unquote(name); uerr == nil {
			name = n
		}
		return fieldError(codeUnknownField, name, fmt.Sprintf("unknown field %q", name))
	}
	// A field's own UnmarshalJSON failed (a timestamp that is not RFC 3339,
	// say): such errors do not name the field, so find it by decoding
	// each top-level member alone.
	if field, ferr := failingField(body, v); field != "" {
		return fieldError(codeInvalidFieldType, field, field+" "+describeFormatError(ferr))
	}
	return apiError(herald.KindInvalid, codeInvalidJSON, "the request body could not be decoded")
}

// failingField returns the first (in key order) top-level member of the
// JSON object body that v's type cannot decode, and its error.
func failingField(body []byte, v any) (string, error) {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return "", nil
	}
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer {
		return "", nil
	}
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		one, err := json.Marshal(map[string]json.RawMessage{k: members[k]})
		if err != nil {
			continue
		}
		if err := json.Unmarshal(one, reflect.New(t.Elem()).Interface()); err != nil {
			return k, err
		}
	}
	return "", nil
}

func describeFormatError(err error) string {
	if _, ok := errors.AsType[*time.ParseError](err); ok || strings.Contains(err.Error(), "Time.UnmarshalJSON") {
		return "must be an RFC 3339 timestamp such as 2030-01-02T15:04:05Z"
	}
	return "has a value of the wrong type or format"
}

// describeType names a Go type as a JSON type, for error messages.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return describeType(t.Elem())
	}
	return "another type"
}

// jsonValueKind shortens UnmarshalTypeError.Value ("number 1.5") to the
// JSON kind, so that client data is not echoed back.
func jsonValueKind(v string) string {
	kind, _, _ := strings.Cut(v, " ")
	switch kind {
	case "number", "string", "bool", "array", "object", "null":
		if kind == "bool" {
			return "a boolean"
		}
		if kind == "array" || kind == "object" {
			return "an " + kind
		}
		return "a " + kind
	}
	return "a value of another type"
}
