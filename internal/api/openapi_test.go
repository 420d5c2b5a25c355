package api

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/herald-sms/herald/internal/fraud"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/verify"
)

// openAPI is the part of the document the tests look at.
type openAPI struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Enum       []string                   `json:"enum"`
			Properties map[string]json.RawMessage `json:"properties"`
			AllOf      []struct {
				Ref        string                     `json:"$ref"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"allOf"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	var doc openAPI
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPIMatchesRoutes checks that the route table (which New
// registers) and the document list the same method and path pairs, and
// agree on which need no authentication.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	inDoc := map[string]bool{}
	for path, item := range doc.Paths {
		for m, raw := range item {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			key := strings.ToUpper(m) + " " + path
			inDoc[key] = true
			var op struct {
				Security *[]any `json:"security"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			public := op.Security != nil && len(*op.Security) == 0
			i := slices.IndexFunc(routes, func(rt route) bool { return rt.method+" "+rt.path == key })
			if i < 0 {
				t.Errorf("openapi.json documents %s, which no route serves", key)
				continue
			}
			if routes[i].public != public {
				t.Errorf("%s: public %v in the routes, %v in openapi.json", key, routes[i].public, public)
			}
		}
	}
	for _, rt := range routes {
		if !inDoc[rt.method+" "+rt.path] {
			t.Errorf("route %s %s is missing from openapi.json", rt.method, rt.path)
		}
	}
}

// allCodes returns every code a client can get from this package: its
// own table and the codes internal/intake passes through it, with their
// statuses.
func allCodes(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, c := range errorCodes {
		out[c.code] = c.status
		if c.status == 0 {
			out[c.code] = httpStatus(&herald.Error{Kind: c.kind, Code: c.code})
		}
	}
	for code, kind := range intakeCodes(t) {
		out[code] = httpStatus(&herald.Error{Kind: kind, Code: code})
	}
	return out
}

// kindNames maps the names of herald's kind constants to their values.
var kindNames = map[string]herald.Kind{
	"KindInternal": herald.KindInternal, "KindInvalid": herald.KindInvalid, "KindNotFound": herald.KindNotFound,
	"KindConflict": herald.KindConflict, "KindUnauthorized": herald.KindUnauthorized, "KindForbidden": herald.KindForbidden,
	"KindRateLimited": herald.KindRateLimited, "KindOptedOut": herald.KindOptedOut, "KindTransient": herald.KindTransient,
	"KindPermanent": herald.KindPermanent, "KindTooLarge": herald.KindTooLarge, "KindUnsupported": herald.KindUnsupported,
}

// intakeCodes parses internal/intake and returns the codes it creates
// errors with (herald.FieldError, herald.Errorf, herald.Error literals),
// with their kinds.
func intakeCodes(t *testing.T) map[string]herald.Kind {
	t.Helper()
	var files []string
	for _, dir := range []string{"intake", "verify", "fraud"} {
		fs, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	fset := token.NewFileSet()
	codes := map[string]herald.Kind{}
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	kind := func(e ast.Expr) herald.Kind {
		if sel, ok := e.(*ast.SelectorExpr); ok {
			if k, ok := kindNames[sel.Sel.Name]; ok {
				return k
			}
		}
		t.Errorf("%s: kind is not a herald.Kind constant", fset.Position(e.Pos()))
		return herald.KindInternal
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || len(n.Args) < 2 {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "herald" {
					return true
				}
				switch sel.Sel.Name {
				case "FieldError":
					if c, ok := str(n.Args[1]); ok {
						codes[c] = herald.KindInvalid
					}
				case "Errorf":
					if c, ok := str(n.Args[1]); ok {
						codes[c] = kind(n.Args[0])
					}
				}
			case *ast.CompositeLit:
				sel, ok := n.Type.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Error" {
					return true
				}
				var code string
				k := herald.KindInternal
				for _, el := range n.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, ok := kv.Key.(*ast.Ident)
					if !ok {
						continue
					}
					switch key.Name {
					case "Code":
						code, _ = str(kv.Value)
					case "Kind":
						k = kind(kv.Value)
					}
				}
				if code != "" {
					codes[code] = k
				}
			}
			return true
		})
	}
	return codes
}

// TestOpenAPIErrorCodes checks that the document's error-code enum is
// exactly the set of codes clients can get.
func TestOpenAPIErrorCodes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	enum := doc.Components.Schemas["ErrorCode"].Enum
	var all []string
	for c := range allCodes(t) {
		all = append(all, c)
	}
	slices.Sort(enum)
	slices.Sort(all)
	if !slices.Equal(enum, all) {
		t.Errorf("openapi.json's ErrorCode enum must list every code (add new intake codes there and to docs/api.md)\n enum %v\ncodes %v", enum, all)
	}
}

// TestDocsListErrorCodes checks that docs/api.md has a row
// "| `code` | status |" for every code clients can get, with its status.
func TestDocsListErrorCodes(t *testing.T) {
	t.Parallel()
	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	for code, status := range allCodes(t) {
		row := regexp.MustCompile("(?m)^\\| `" + code + "` \\| " + strconv.Itoa(status) + " \\|")
		if !row.Match(md) {
			t.Errorf("docs/api.md has no row | `%s` | %d | in its error table", code, status)
		}
	}
}

// TestErrorCodesComplete parses the package's source and checks that
// every code it can answer with comes from the table: code constants are
// all in it, and no string literal is used as a code.
func TestErrorCodesComplete(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	inTable := map[string]bool{}
	for _, c := range errorCodes {
		inTable[c.code] = true
	}
	consts := map[string]bool{}
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range vs.Names {
				if !strings.HasPrefix(id.Name, "code") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				consts[id.Name] = true
				if !inTable[v] {
					t.Errorf("%s = %q is not in errorCodes", id.Name, v)
				}
			}
			return true
		})
	}
	checkCode := func(pos token.Pos, e ast.Expr) {
		switch e := e.(type) {
		case *ast.BasicLit:
			t.Errorf("%s: code %s is a literal; declare it in errors.go", fset.Position(pos), e.Value)
		case *ast.Ident:
			if !consts[e.Name] {
				t.Errorf("%s: code %s is not a code constant", fset.Position(pos), e.Name)
			}
		}
	}
	for _, f := range parsed {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				// The constructors themselves pass their parameter on.
				return n.Name.Name != "apiError" && n.Name.Name != "fieldError"
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					if x, ok := fn.X.(*ast.Ident); ok && x.Name == "herald" {
						name = fn.Sel.Name
					}
				}
				switch name {
				case "apiError", "Errorf":
					if len(n.Args) > 1 {
						checkCode(n.Pos(), n.Args[1])
					}
				case "fieldError":
					checkCode(n.Pos(), n.Args[0])
				case "FieldError":
					checkCode(n.Pos(), n.Args[1])
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
					checkCode(n.Pos(), n.Value)
				}
			}
			return true
		})
	}
}

// jsonFields returns the JSON member names of a struct type, with those
// of embedded structs.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// TestOpenAPISchemasMatchTypes checks that the document's schemas have
// the members of the types the handlers decode and encode, so that a
// field added to intake.Request or a view shows up here.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	tests := []struct {
		schema string
		typ    any
	}{
		{"MessageRequest", intake.Request{}},
		{"Message", herald.MessageView{}},
		{"Part", herald.PartView{}},
		{"MessageList", messageList{}},
		{"BatchRequest", batchRequest{}},
		{"BatchResponse", batchResponse{}},
		{"BatchItem", batchItem{}},
		{"ErrorObject", errorObject{}},
		{"Error", errorBody{}},
		{"Event", eventView{}},
		{"Delivery", deliveryView{}},
		{"AnalyzeRequest", analyzeRequest{}},
		{"Analysis", analysisView{}},
		{"WebhookEndpointRequest", webhookRequest{}},
		{"WebhookEndpoint", webhookView{}},
		{"SenderRequest", senderRequest{}},
		{"Sender", senderView{}},
		{"Policy", policyView{}},
		{"InboundMessage", herald.InboundView{}},
		{"InboundList", inboundList{}},
		{"Conversation", conversationList{}},
		{"OptOutRequest", optOutRequest{}},
		{"OptOut", optOutView{}},
		{"OptOutList", optOutList{}},
		{"LedgerEntry", ledgerView{}},
		{"ImportResult", importResult{}},
		{"VerificationRequest", verify.StartRequest{}},
		{"Verification", verify.View{}},
		{"VerificationCheckRequest", checkRequest{}},
		{"VerificationCheck", verify.CheckAnswer{}},
		{"VerificationUnlockRequest", unlockRequest{}},
		{"VerificationUnlock", unlockAnswer{}},
		{"FraudBlock", herald.FraudBlockView{}},
		{"FraudBlockList", fraudBlockList{}},
		{"FraudConversion", conversionView{}},
		{"ConversionStat", fraud.ConversionStat{}},
		{"SMPPUserRequest", smppUserRequest{}},
		{"SMPPUser", smppUserView{}},
	}
	for _, tc := range tests {
		s, ok := doc.Components.Schemas[tc.schema]
		if !ok {
			t.Errorf("no schema %s", tc.schema)
			continue
		}
		var props []string
		for p := range s.Properties {
			props = append(props, p)
		}
		if tc.schema == "WebhookEndpoint" {
			props = append(props, "secret") // in WebhookEndpointCreated
		}
		if tc.schema == "SMPPUser" {
			props = append(props, "password") // in SMPPUserCreated
		}
		slices.Sort(props)
		if want := jsonFields(reflect.TypeOf(tc.typ)); !slices.Equal(props, want) {
			t.Errorf("schema %s has %v,\n  the Go type has %v", tc.schema, props, want)
		}
	}
	var ev struct {
		Data map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Event"].Properties["data"], &ev); err != nil {
		t.Fatal(err)
	}
	var evData []string
	for p := range ev.Data {
		evData = append(evData, p)
	}
	slices.Sort(evData)
	if want := jsonFields(reflect.TypeOf(eventData{})); !slices.Equal(evData, want) {
		t.Errorf("Event.data has %v, eventData has %v", evData, want)
	}
}

// TestOpenAPIRefsResolve checks every $ref points into the document.
func TestOpenAPIRefsResolve(t *testing.T) {
	t.Parallel()
	var doc any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					if !resolves(doc, ref) {
						t.Errorf("$ref %s does not resolve", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
}

func resolves(doc any, ref string) bool {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	cur := doc
	for _, seg := range strings.Split(p, "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[seg]; !ok {
			return false
		}
	}
	return true
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, b := h.do(req{method: "GET", path: "/v1/openapi.json"})
	if resp.StatusCode != 200 || !bytes.Equal(b, openAPIDoc) || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, %d bytes, %s", resp.StatusCode, len(b), resp.Header.Get("Content-Type"))
	}
}
