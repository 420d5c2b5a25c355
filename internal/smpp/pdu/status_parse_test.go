package pdu

import "testing"

func TestParseStatus(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Status{"0x58": StatusThrottled, "88": StatusThrottled, "esme_rthrottled": StatusThrottled,
		"ESME_RINVDSTADR": StatusInvDstAdr, "0x400": 0x400} {
		if got, err := ParseStatus(in); err != nil || got != want {
			t.Errorf("ParseStatus(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseStatus("ESME_RNOPE"); err == nil {
		t.Error("an unknown name was accepted")
	}
}
