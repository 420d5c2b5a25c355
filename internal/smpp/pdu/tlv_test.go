package pdu

import (
	"bytes"
	"testing"
)

func TestTagString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tag   Tag
		name  string
		known bool
	}{
		{TagDestAddrSubunit, "dest_addr_subunit", true},
		{TagReceiptedMessageID, "receipted_message_id", true},
		{TagScInterfaceVersion, "sc_interface_version", true},
		{TagMsAvailabilityStatus, "ms_availability_status", true},
		{TagNetworkErrorCode, "network_error_code", true},
		{TagMessagePayload, "message_payload", true},
		{TagMessageState, "message_state", true},
		{TagItsSessionInfo, "its_session_info", true},
		{0x1401, "tlv(0x1401)", false},
		{0x0000, "tlv(0x0000)", false},
	}
	if n := len(tagNames); n != 44 {
		t.Errorf("%d named tags; SMPP 3.4 section 5.3.2 defines 44", n)
	}
	for _, tt := range tests {
		if got := tt.tag.String(); got != tt.name {
			t.Errorf("Tag(0x%04X).String() = %q; want %q", uint16(tt.tag), got, tt.name)
		}
		if got := tt.tag.Known(); got != tt.known {
			t.Errorf("%s.Known() = %v; want %v", tt.name, got, tt.known)
		}
	}
}

func TestTLVsGetSetDelete(t *testing.T) {
	t.Parallel()
	var ts TLVs
	if v, ok := ts.Get(TagMessageState); ok || v != nil || ts.Has(TagMessageState) {
		t.Errorf("nil TLVs: Get = %v, %v", v, ok)
	}
	ts.Set(TagMessageState, []byte{1})
	ts.Set(0x1401, []byte("a"))
	ts = append(ts, TLV{Tag: 0x1401, Value: []byte("b")}) // a repeated tag, as on the wire
	ts.Set(TagMessageState, []byte{2})                    // replaces in place
	want := TLVs{{TagMessageState, []byte{2}}, {0x1401, []byte("a")}, {0x1401, []byte("b")}}
	if !tlvsEqual(ts, want) {
		t.Fatalf("after Set: %v; want %v", ts, want)
	}
	if v, ok := ts.Get(0x1401); !ok || string(v) != "a" {
		t.Errorf("Get returns %q, %v; want the first, \"a\"", v, ok)
	}
	ts.Set(0x1401, []byte("c")) // replaces the first only
	if !tlvsEqual(ts, TLVs{{TagMessageState, []byte{2}}, {0x1401, []byte("c")}, {0x1401, []byte("b")}}) {
		t.Errorf("Set on a repeated tag: %v", ts)
	}
	ts.Delete(0x1401) // removes every one
	if !tlvsEqual(ts, TLVs{{TagMessageState, []byte{2}}}) || ts.Has(0x1401) {
		t.Errorf("after Delete: %v", ts)
	}
	ts.Delete(TagMessagePayload) // absent: no-op
	ts.Delete(TagMessageState)
	if len(ts) != 0 {
		t.Errorf("after deleting all: %v", ts)
	}
}

func TestTLVsIntegers(t *testing.T) {
	t.Parallel()
	var ts TLVs
	ts.SetUint8(TagMessageState, 2)
	ts.SetUint16(TagUserMessageReference, 0x1234)
	ts.SetUint32(TagQosTimeToLive, 0xDEADBEEF)
	ts.Set(TagNetworkErrorCode, []byte{3, 0, 1})
	wantWire := []TLV{
		{TagMessageState, []byte{2}},
		{TagUserMessageReference, []byte{0x12, 0x34}},
		{TagQosTimeToLive, []byte{0xDE, 0xAD, 0xBE, 0xEF}},
	}
	for i, w := range wantWire {
		if ts[i].Tag != w.Tag || !bytes.Equal(ts[i].Value, w.Value) {
			t.Errorf("TLV %d = %v; want %v (big-endian)", i, ts[i], w)
		}
	}
	if v, ok := ts.Uint8(TagMessageState); !ok || v != 2 {
		t.Errorf("Uint8 = %d, %v", v, ok)
	}
	if v, ok := ts.Uint16(TagUserMessageReference); !ok || v != 0x1234 {
		t.Errorf("Uint16 = %#x, %v", v, ok)
	}
	if v, ok := ts.Uint32(TagQosTimeToLive); !ok || v != 0xDEADBEEF {
		t.Errorf("Uint32 = %#x, %v", v, ok)
	}
	// Wrong width or absent: not ok, zero.
	for _, tag := range []Tag{TagUserMessageReference, TagNetworkErrorCode, TagMessagePayload} {
		if v, ok := ts.Uint8(tag); ok || v != 0 {
			t.Errorf("Uint8(%s) = %d, %v; want 0, false", tag, v, ok)
		}
	}
	for _, tag := range []Tag{TagMessageState, TagNetworkErrorCode, TagMessagePayload} {
		if v, ok := ts.Uint16(tag); ok || v != 0 {
			t.Errorf("Uint16(%s) = %d, %v; want 0, false", tag, v, ok)
		}
	}
	for _, tag := range []Tag{TagMessageState, TagNetworkErrorCode, TagMessagePayload} {
		if v, ok := ts.Uint32(tag); ok || v != 0 {
			t.Errorf("Uint32(%s) = %d, %v; want 0, false", tag, v, ok)
		}
	}
}

func TestTLVsCString(t *testing.T) {
	t.Parallel()
	var ts TLVs
	ts.SetCString(TagReceiptedMessageID, "5f3a9c1e")
	if v, _ := ts.Get(TagReceiptedMessageID); string(v) != "5f3a9c1e\x00" {
		t.Errorf("SetCString wrote %q; want the NUL terminator", v)
	}
	ts.Set(TagAdditionalStatusInfoText, []byte("no terminator"))
	ts.Set(TagSourceSubaddress, []byte("ab\x00cd"))
	ts.Set(TagDestSubaddress, []byte{})
	tests := []struct {
		tag  Tag
		want string
		ok   bool
	}{
		{TagReceiptedMessageID, "5f3a9c1e", true},
		{TagAdditionalStatusInfoText, "no terminator", true}, // carrier deviation
		{TagSourceSubaddress, "ab", true},                    // stops at the first NUL
		{TagDestSubaddress, "", true},
		{TagMessagePayload, "", false},
	}
	for _, tt := range tests {
		if got, ok := ts.CString(tt.tag); got != tt.want || ok != tt.ok {
			t.Errorf("CString(%s) = %q, %v; want %q, %v", tt.tag, got, ok, tt.want, tt.ok)
		}
	}
}

func tlvsEqual(a, b TLVs) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Tag != b[i].Tag || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}
