package dlr

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestParseState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want State
	}{
		{"DELIVRD", StateDelivered},
		{"delivrd", StateDelivered},
		{"DELIVRD ", StateDelivered},
		{" Delivered\x00", StateDelivered},
		{"DELIVERED", StateDelivered},
		{"UNDELIV", StateUndeliverable},
		{"UNDELIVERABLE", StateUndeliverable},
		{"undelivered", StateUndeliverable},
		{"FAILED", StateUndeliverable},
		{"EXPIRED", StateExpired},
		{"DELETED", StateDeleted},
		{"ACCEPTD", StateAccepted},
		{"ACCEPTED", StateAccepted},
		{"ACKED", StateAccepted},
		{"UNKNOWN", StateUnknown},
		{"REJECTD", StateRejected},
		{"REJECTED", StateRejected},
		{"ENROUTE", StateEnroute},
		{"EN_ROUTE", StateEnroute},
		{"en-route", StateEnroute},
		{"BUFFRED", StateEnroute},
		{"SKIPPED", StateSkipped},
		{"2", StateDelivered},
		{"05", StateUndeliverable},
		{"0", StateNone},
		{"10", StateNone},
		{"", StateNone},
		{"NONE", StateNone},
		{"DELIVRDX", StateNone},
		{"WAITING", StateNone},
		{"DELIVERED-AND-SOME-MORE-LETTERS", StateNone},
	}
	for _, tt := range tests {
		if got := ParseState(tt.in); got != tt.want {
			t.Errorf("ParseState(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s     State
		str   string
		final bool
		tlv   uint8
	}{
		{StateNone, "NONE", false, 0},
		{StateEnroute, "ENROUTE", false, 1},
		{StateDelivered, "DELIVRD", true, 2},
		{StateExpired, "EXPIRED", true, 3},
		{StateDeleted, "DELETED", true, 4},
		{StateUndeliverable, "UNDELIV", true, 5},
		{StateAccepted, "ACCEPTD", false, 6},
		{StateUnknown, "UNKNOWN", true, 7},
		{StateRejected, "REJECTD", true, 8},
		{StateSkipped, "SKIPPED", true, 9},
		{State(10), "State(10)", false, 0},
		{State(255), "State(255)", false, 0},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.str {
			t.Errorf("State(%d).String() = %q, want %q", uint8(tt.s), got, tt.str)
		}
		if got := tt.s.Final(); got != tt.final {
			t.Errorf("%v.Final() = %v, want %v", tt.s, got, tt.final)
		}
		if got := tt.s.MessageState(); got != tt.tlv {
			t.Errorf("%v.MessageState() = %d, want %d", tt.s, got, tt.tlv)
		}
		// Every named state reads back from its own name and its TLV byte.
		if tt.tlv != 0 {
			if got := ParseState(tt.str); got != tt.s {
				t.Errorf("ParseState(%q) = %v, want %v", tt.str, got, tt.s)
			}
			if got := StateFromTLV(tt.tlv); got != tt.s {
				t.Errorf("StateFromTLV(%d) = %v, want %v", tt.tlv, got, tt.s)
			}
		}
	}
	for _, v := range []uint8{0, 10, 11, 0x7F, 0xFF} {
		if got := StateFromTLV(v); got != StateNone {
			t.Errorf("StateFromTLV(%d) = %v, want StateNone", v, got)
		}
	}
}

// TestDocStateTable keeps the spelling table in docs/receipts.md true: every
// spelling listed there must parse to the state on its row.
func TestDocStateTable(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../../docs/receipts.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	states := map[string]State{}
	for s := StateEnroute; s <= StateSkipped; s++ {
		states[stateConstName(s)] = s
	}
	row := regexp.MustCompile("^\\|(.*)\\|\\s*`(State[A-Za-z]+)`\\s*\\|$")
	code := regexp.MustCompile("`([^`]+)`")
	inTable, rows := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			inTable = line == "### Accepted stat spellings"
			continue
		}
		m := row.FindStringSubmatch(line)
		if !inTable || m == nil {
			continue
		}
		want, ok := states[m[2]]
		if !ok {
			t.Errorf("docs row %q names unknown state %s", line, m[2])
			continue
		}
		for _, c := range code.FindAllStringSubmatch(m[1], -1) {
			rows++
			if got := ParseState(c[1]); got != want {
				t.Errorf("docs say %q is %s; ParseState gives %v", c[1], m[2], got)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows < 20 {
		t.Errorf("found %d spellings in docs/receipts.md, want the full table", rows)
	}
}

func stateConstName(s State) string {
	switch s {
	case StateEnroute:
		return "StateEnroute"
	case StateDelivered:
		return "StateDelivered"
	case StateExpired:
		return "StateExpired"
	case StateDeleted:
		return "StateDeleted"
	case StateUndeliverable:
		return "StateUndeliverable"
	case StateAccepted:
		return "StateAccepted"
	case StateUnknown:
		return "StateUnknown"
	case StateRejected:
		return "StateRejected"
	case StateSkipped:
		return "StateSkipped"
	}
	return ""
}
