// Package archtest checks the import directions of the module, so that the
// architecture in docs/architecture.md cannot rot silently.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/herald-sms/herald"

// allowed lists, for each package that must stay publishable on its own,
// the only packages of this module it may depend on (directly or not).
var allowed = map[string][]string{
	"internal/smpp/pdu":      {},
	"internal/smpp/dlr":      {},
	"internal/smstext":       {},
	"internal/smpp":          {"internal/smpp/pdu"},
	"internal/smpp/smpptest": {"internal/smpp", "internal/smpp/pdu"},
	// The SMPP server for client applications is an edge, like the API:
	// it uses the intake and the storage seam, never a concrete store.
	"internal/smppserver": {"internal/herald", "internal/intake", "internal/phone", "internal/store", "internal/smpp",
		"internal/smpp/pdu", "internal/smpp/dlr", "internal/smstext"},
}

type pkg struct {
	ImportPath string
	Deps       []string
}

func TestImportDirections(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("go tool not available: %v", err)
	}
	dec := json.NewDecoder(out)
	seen := map[string]bool{}
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		seen[rel] = true
		// Nothing below cmd/ may import cmd/, and only cmd/ may import
		// the concrete stores.
		for _, d := range p.Deps {
			if !strings.HasPrefix(d, module+"/") {
				continue
			}
			drel := strings.TrimPrefix(d, module+"/")
			if strings.HasPrefix(drel, "cmd/") {
				t.Errorf("%s depends on %s", rel, drel)
			}
			if drel == "internal/smppserver" && !strings.HasPrefix(rel, "cmd/") {
				t.Errorf("%s depends on the SMPP server %s; only cmd/ may", rel, drel)
			}
			if strings.HasPrefix(drel, "internal/store/") && !strings.HasPrefix(rel, "cmd/") && !strings.HasPrefix(rel, "internal/store/") {
				t.Errorf("%s depends on the concrete store %s; only cmd/ may", rel, drel)
			}
		}
		ok, constrained := allowed[rel]
		if !constrained {
			continue
		}
		for _, d := range p.Deps {
			if !strings.HasPrefix(d, module+"/") {
				continue
			}
			drel := strings.TrimPrefix(d, module+"/")
			permitted := false
			for _, a := range ok {
				if drel == a {
					permitted = true
				}
			}
			if !permitted {
				t.Errorf("%s must not depend on %s", rel, drel)
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	for rel := range allowed {
		if !seen[rel] {
			t.Errorf("package %s listed in the rules does not exist", rel)
		}
	}
}
