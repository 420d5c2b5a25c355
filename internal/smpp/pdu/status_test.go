package pdu

import (
	"errors"
	"fmt"
	"testing"
)

func TestStatusNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s     Status
		name  string
		known bool
	}{
		{StatusOK, "ESME_ROK", true},
		{StatusInvCmdLen, "ESME_RINVCMDLEN", true},
		{StatusInvCmdID, "ESME_RINVCMDID", true},
		{StatusInvDstTON, "ESME_RINVDSTTON", true},
		{StatusThrottled, "ESME_RTHROTTLED", true},
		{StatusXTAppn, "ESME_RX_T_APPN", true},
		{StatusInvOptParStream, "ESME_RINVOPTPARSTREAM", true},
		{StatusInvParLen, "ESME_RINVPARLEN", true},
		{StatusUnknownErr, "ESME_RUNKNOWNERR", true},
		{0x00000009, "command_status(0x00000009)", false}, // reserved
		{0x00000100, "command_status(0x00000100)", false}, // reserved for SMPP extension
		{0x00000400, "vendor_error(0x00000400)", false},
		{0x000004FF, "vendor_error(0x000004FF)", false},
		{0x00000500, "command_status(0x00000500)", false},
	}
	if n := len(statusNames); n != 48 {
		t.Errorf("%d named statuses; SMPP 3.4 table 5.1.3 defines 48", n)
	}
	for s := range statusNames {
		if _, ok := statusText[s]; !ok {
			t.Errorf("%s has no Text", s.String())
		}
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.name {
			t.Errorf("Status(0x%X).String() = %q; want %q", uint32(tt.s), got, tt.name)
		}
		if got := tt.s.Known(); got != tt.known {
			t.Errorf("%s.Known() = %v; want %v", tt.name, got, tt.known)
		}
		if tt.s.Text() == "" {
			t.Errorf("%s.Text() is empty", tt.name)
		}
	}
	if got := Status(0x400).Text(); got != "SMSC vendor-specific error" {
		t.Errorf("vendor Text() = %q", got)
	}
	if got := Status(0x9).Text(); got != "reserved or unknown status" {
		t.Errorf("reserved Text() = %q", got)
	}
}

func TestStatusTemporary(t *testing.T) {
	t.Parallel()
	temporary := map[Status]bool{StatusSysErr: true, StatusMsgQFul: true, StatusThrottled: true, StatusXTAppn: true}
	for s := range statusNames {
		if got := s.Temporary(); got != temporary[s] {
			t.Errorf("%s.Temporary() = %v; want %v", s.String(), got, temporary[s])
		}
	}
	for _, s := range []Status{0x400, 0x9, 0xFFFFFFFF} {
		if s.Temporary() {
			t.Errorf("%s.Temporary() = true", s.String())
		}
	}
}

// TestStatusAsError documents that Status is an error: fmt's %s and %v
// print Error(), not String(); use String() for the bare name.
func TestStatusAsError(t *testing.T) {
	t.Parallel()
	var err error = StatusThrottled
	want := "smpp: ESME_RTHROTTLED (0x00000058): throttling error (ESME has exceeded allowed message limits)"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	if got := fmt.Sprintf("%v", StatusThrottled); got != want {
		t.Errorf("%%v = %q; want the Error() text", got)
	}
	wrapped := fmt.Errorf("submit: %w", StatusThrottled)
	var s Status
	if !errors.As(wrapped, &s) || s != StatusThrottled {
		t.Errorf("errors.As(wrapped, *Status) = %v, %s", errors.As(wrapped, &s), s.String())
	}
}
