package pdu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// raw builds a PDU from a command, status, sequence number and body parts,
// with a correct command_length.
func raw(cmd CommandID, status Status, seq uint32, body ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(HeaderLen+len(strings.Join(body, ""))))
	b = binary.BigEndian.AppendUint32(b, uint32(cmd))
	b = binary.BigEndian.AppendUint32(b, uint32(status))
	b = binary.BigEndian.AppendUint32(b, seq)
	return append(b, strings.Join(body, "")...)
}

// withLength overwrites command_length.
func withLength(b []byte, n uint32) []byte {
	binary.BigEndian.PutUint32(b, n)
	return b
}

// submitSMBody is a minimal valid submit_sm body up to and including
// sm_default_msg_id; sm_length, short_message and TLVs are appended by
// the tests.
const submitSMBody = "\x00" + // service_type
	"\x01\x01" + "447700900123\x00" + // source
	"\x01\x01" + "447700900124\x00" + // destination
	"\x00\x00\x00" + // esm_class, protocol_id, priority_flag
	"\x00\x00" + // schedule_delivery_time, validity_period
	"\x00\x00\x00\x00" // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id

// dataSMBody is the fixed part of an empty data_sm body: service_type,
// source and destination (TON, NPI, NULL address), esm_class,
// registered_delivery and data_coding.
const dataSMBody = "\x00" + "\x00\x00\x00" + "\x00\x00\x00" + "\x00\x00\x00"

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	submitMultiHead := "\x00" + "\x05\x00Herald\x00" // service_type, source
	submitMultiTail := "\x00\x00\x00" + "\x00\x00" + "\x00\x00\x00\x00" + "\x02hi"
	tests := []struct {
		name   string
		frame  []byte
		status Status
		header bool // the header is readable and must be reported
	}{
		{"empty", nil, StatusInvCmdLen, false},
		{"truncated header", raw(EnquireLinkID, 0, 1)[:10], StatusInvCmdLen, false},
		{"command_length below 16", withLength(raw(EnquireLinkID, 0, 1), 8), StatusInvCmdLen, true},
		{"command_length zero", withLength(raw(EnquireLinkID, 0, 1), 0), StatusInvCmdLen, true},
		{"command_length above frame", withLength(raw(EnquireLinkID, 0, 1), 17), StatusInvCmdLen, true},
		{"command_length below frame", withLength(raw(QuerySMID, 0, 1, "id\x00\x00\x00\x00"), 20), StatusInvCmdLen, true},
		{"unknown command_id", raw(0x00000050, 0, 1), StatusInvCmdID, true},
		{"reserved command_id 0x0A", raw(0x0000000A, 0, 1), StatusInvCmdID, true},
		{"response to outbind does not exist", raw(OutbindID|respBit, 0, 1), StatusInvCmdID, true},
		{"cstring without NUL in request", raw(BindTransmitterID, 0, 1, "SMPP3TEST"), StatusInvCmdLen, true},
		{"cstring without NUL mid-body", raw(BindTransmitterID, 0, 1, "sys\x00pass"), StatusInvCmdLen, true},
		{"request body ends before a field", raw(BindTransmitterID, 0, 1, "sys\x00pass\x00type\x00\x34\x01"), StatusInvCmdLen, true},
		{"empty request body", raw(SubmitSMID, 0, 1), StatusInvCmdLen, true},
		{"sm_length beyond body", raw(SubmitSMID, 0, 1, submitSMBody, "\x05abc"), StatusInvCmdLen, true},
		{"sm_length 255", raw(SubmitSMID, 0, 1, submitSMBody, "\xff", strings.Repeat("a", 255)), StatusInvMsgLen, true},
		{"replace_sm sm_length 255", raw(ReplaceSMID, 0, 1, "id\x00\x01\x01123\x00\x00\x00\x00\x00\xff", strings.Repeat("a", 255)), StatusInvMsgLen, true},
		{"TLV length beyond body", raw(SubmitSMID, 0, 1, submitSMBody, "\x00", "\x04\x24\x00\x10abc"), StatusInvParLen, true},
		{"TLV length 65535 with 0 octets", raw(DeliverSMRespID, 0, 1, "\x00", "\x04\x24\xff\xff"), StatusInvParLen, true},
		{"truncated TLV header", raw(SubmitSMID, 0, 1, submitSMBody, "\x00", "\x04\x24"), StatusInvOptParStream, true},
		{"truncated second TLV header", raw(DataSMID, 0, 1, dataSMBody, "\x04\x27\x00\x01\x02", "\x04\x23\x00"), StatusInvOptParStream, true},
		{"truncated TLV header in response", raw(SubmitSMRespID, 0, 1, "id\x00", "\x04"), StatusInvOptParStream, true},
		{"trailing octets after empty body", raw(EnquireLinkID, 0, 1, "\x00"), StatusInvCmdLen, true},
		{"trailing octets on generic_nack", raw(GenericNackID, StatusInvCmdID, 1, "xx"), StatusInvCmdLen, true},
		{"trailing octets after query_sm", raw(QuerySMID, 0, 1, "id\x00\x00\x00\x00", "junk"), StatusInvCmdLen, true},
		{"trailing octets after query_sm_resp", raw(QuerySMRespID, 0, 1, "id\x00\x00\x02\x00", "junk"), StatusInvCmdLen, true},
		{"submit_multi bad dest_flag", raw(SubmitMultiID, 0, 1, submitMultiHead, "\x01", "\x03\x01\x01123\x00", submitMultiTail), StatusInvDestFlag, true},
		{"submit_multi dest_flag 0", raw(SubmitMultiID, 0, 1, submitMultiHead, "\x01", "\x00", submitMultiTail), StatusInvDestFlag, true},
		{"submit_multi second dest_flag bad", raw(SubmitMultiID, 0, 1, submitMultiHead, "\x02", "\x02dl\x00", "\x09dl2\x00", submitMultiTail), StatusInvDestFlag, true},
		{"submit_multi more dests than present", raw(SubmitMultiID, 0, 1, submitMultiHead, "\x05", "\x01\x01\x01123\x00"), StatusInvCmdLen, true},
		{"submit_multi 255 dests none present", raw(SubmitMultiID, 0, 1, submitMultiHead, "\xff"), StatusInvCmdLen, true},
		{"submit_multi_resp entry cut inside status", raw(SubmitMultiRespID, 0, 1, "id\x00\x01", "\x01\x01123\x00", "\x00\x00"), StatusInvCmdLen, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, body, err := Decode(tt.frame)
			if body != nil {
				t.Errorf("body = %#v; want nil on error", body)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v; want *DecodeError", err)
			}
			if de.Status != tt.status {
				t.Errorf("Status = %s (%s); want %s", de.Status.String(), de.Reason, tt.status.String())
			}
			if de.Header != h {
				t.Errorf("DecodeError.Header = %+v; Decode returned header %+v", de.Header, h)
			}
			if tt.header {
				want, _ := ParseHeader(tt.frame)
				if h != want || h.Seq != 1 {
					t.Errorf("header = %+v; want %+v", h, want)
				}
			}
			if de.Error() == "" || de.Reason == "" {
				t.Error("empty error text")
			}
		})
	}
}

// TestDecodeLenientResponses covers the deviations accepted in responses.
func TestDecodeLenientResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame []byte
		want  Body
	}{
		{"submit_sm_resp error, empty body", raw(SubmitSMRespID, StatusThrottled, 1), &SubmitSMResp{}},
		{"submit_sm_resp error, NULL message_id", raw(SubmitSMRespID, StatusSysErr, 1, "\x00"), &SubmitSMResp{}},
		{"submit_sm_resp error with message_id", raw(SubmitSMRespID, StatusSysErr, 1, "abc\x00"), &SubmitSMResp{MessageID: "abc"}},
		{"message_id without NUL", raw(SubmitSMRespID, 0, 1, "5f3a9c1e"), &SubmitSMResp{MessageID: "5f3a9c1e"}},
		{"data_sm_resp message_id without NUL", raw(DataSMRespID, 0, 1, "x1"), &DataSMResp{MessageID: "x1"}},
		{"bind_transceiver_resp error, empty body", raw(BindTransceiverRespID, StatusInvPaswd, 1), &BindResp{Role: Transceiver}},
		{"bind_receiver_resp system_id without NUL", raw(BindReceiverRespID, 0, 1, "SMSC"), &BindResp{Role: Receiver, SystemID: "SMSC"}},
		{"deliver_sm_resp empty body", raw(DeliverSMRespID, 0, 1), &DeliverSMResp{}},
		{"query_sm_resp ends after message_id", raw(QuerySMRespID, 0, 1, "id\x00"), &QuerySMResp{MessageID: "id"}},
		{"submit_multi_resp without no_unsuccess", raw(SubmitMultiRespID, 0, 1, "m\x00"), &SubmitMultiResp{MessageID: "m"}},
		{
			"submit_multi_resp no_unsuccess above entries present",
			raw(SubmitMultiRespID, 0, 1, "m\x00\x03", "\x01\x01123\x00\x00\x00\x00\x0b"),
			&SubmitMultiResp{MessageID: "m", Unsuccess: []UnsuccessSME{{Address: Address{TON: 1, NPI: 1, Addr: "123"}, Status: StatusInvDstAdr}}},
		},
		{
			"submit_multi_resp ends after an entry's address",
			raw(SubmitMultiRespID, 0, 1, "m\x00\x01", "\x01\x01123\x00"),
			&SubmitMultiResp{MessageID: "m"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, body, err := Decode(tt.frame)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !deepEqualBodies(body, tt.want) {
				t.Errorf("body = %#v; want %#v", body, tt.want)
			}
		})
	}
}

// TestDecodeCopies checks that a decoded body does not alias the frame, so
// that ReadFrame's buffer can be reused.
func TestDecodeCopies(t *testing.T) {
	t.Parallel()
	frame, err := Append(nil, 1, 0, &SubmitSM{ShortMessage{
		Dest: Address{Addr: "123"}, Message: []byte("hello"),
		TLVs: TLVs{{Tag: TagMessagePayload, Value: []byte("payload")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	_, body, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	for i := HeaderLen; i < len(frame); i++ {
		frame[i] = 0xAA
	}
	m := body.(*SubmitSM)
	if m.Dest.Addr != "123" || string(m.Message) != "hello" || string(m.TLVs[0].Value) != "payload" {
		t.Errorf("decoded body changed with the frame: %+v", m)
	}
}

// headerOnlyReader serves a header and fails the test if anything reads
// past it: ReadFrame must reject a bad command_length before the body.
type headerOnlyReader struct {
	t   *testing.T
	hdr []byte
}

func (r *headerOnlyReader) Read(p []byte) (int, error) {
	if len(r.hdr) == 0 {
		r.t.Errorf("ReadFrame read past the header")
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, r.hdr)
	r.hdr = r.hdr[n:]
	return n, nil
}

func TestReadFrameRejectsLengthBeforeBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		length   uint32
		max      uint32
		tooLarge bool
	}{
		{"4 GiB with default cap", 0xFFFFFFFF, 0, true},
		{"one over default cap", MaxLength + 1, 0, true},
		{"over a caller cap", 100, 64, true},
		{"below header size", 15, 0, false},
		{"zero", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hdr := withLength(raw(SubmitSMID, 0, 42), tt.length)
			buf := make([]byte, 0, 64)
			frame, err := ReadFrame(&headerOnlyReader{t: t, hdr: hdr}, buf, tt.max)
			if frame != nil {
				t.Errorf("frame = %x; want nil", frame)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v; want *DecodeError", err)
			}
			if de.Status != StatusInvCmdLen {
				t.Errorf("Status = %s; want ESME_RINVCMDLEN", de.Status.String())
			}
			if de.Header.Seq != 42 || de.Header.Command != SubmitSMID || de.Header.Length != tt.length {
				t.Errorf("Header = %+v; want the header read", de.Header)
			}
			if got := errors.Is(err, ErrFrameTooLarge); got != tt.tooLarge {
				t.Errorf("errors.Is(err, ErrFrameTooLarge) = %v; want %v", got, tt.tooLarge)
			}
		})
	}
}

func TestReadFrameAllocations(t *testing.T) {
	// Not parallel: it measures the heap, and top-level parallel tests only
	// start once the sequential ones are done.
	hdr := withLength(raw(SubmitSMID, 0, 1), 0xFFFFFFFF)
	buf := make([]byte, 0, 64)
	r := bytes.NewReader(hdr)
	const runs = 100
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		r.Reset(hdr)
		if _, err := ReadFrame(r, buf, 0xFFFFFFFF-1); err == nil {
			t.Fatal("no error")
		}
	}
	runtime.ReadMemStats(&after)
	// The *DecodeError and its Reason, nothing sized by command_length.
	if perRun := (after.TotalAlloc - before.TotalAlloc) / runs; perRun > 1024 {
		t.Errorf("oversized frame: %d bytes allocated per call; want under 1 KiB", perRun)
	}

	frame := raw(SubmitSMRespID, 0, 1, "5f3a9c1e\x00")
	allocs := testing.AllocsPerRun(runs, func() {
		r.Reset(frame)
		if _, err := ReadFrame(r, buf, 0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("frame within a reused buffer: %v allocations; want 0", allocs)
	}
}

func TestReadFrameEOF(t *testing.T) {
	t.Parallel()
	whole := raw(SubmitSMRespID, 0, 1, "5f3a9c1e\x00")
	tests := []struct {
		name  string
		input []byte
		want  error
	}{
		{"nothing", nil, io.EOF},
		{"mid-header", whole[:7], io.ErrUnexpectedEOF},
		{"header only", whole[:HeaderLen], io.ErrUnexpectedEOF},
		{"mid-body", whole[:len(whole)-1], io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			frame, err := ReadFrame(bytes.NewReader(tt.input), nil, 0)
			if err != tt.want {
				t.Errorf("err = %v; want %v", err, tt.want)
			}
			if frame != nil {
				t.Errorf("frame = %x; want nil", frame)
			}
		})
	}
}

func TestReadFrameStreamAndBufferReuse(t *testing.T) {
	t.Parallel()
	small := raw(EnquireLinkID, 0, 1)
	medium := raw(SubmitSMRespID, 0, 2, "5f3a9c1e\x00")
	large := raw(DataSMID, 0, 3, dataSMBody, "\x04\x24\x01\x00", strings.Repeat("x", 256))
	stream := bytes.NewReader(bytes.Join([][]byte{small, medium, large, small}, nil))

	buf := make([]byte, 0, 64)
	var frames [][]byte
	for {
		frame, err := ReadFrame(stream, buf, 0)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, bytes.Clone(frame))
		fits := len(frame) <= cap(buf)
		if shares := &frame[:1][0] == &buf[:1][0]; shares != fits {
			t.Errorf("frame of %d octets with a %d-octet buffer: shares buffer = %v", len(frame), cap(buf), shares)
		}
		buf = frame[:0] // keep the larger buffer, as a session's reader does
	}
	want := [][]byte{small, medium, large, small}
	if !reflect.DeepEqual(frames, want) {
		t.Errorf("frames = %x; want %x", frames, want)
	}
	if cap(buf) < len(large) {
		t.Errorf("grown buffer not returned: cap %d", cap(buf))
	}
}

func TestReadFrameNilOrTinyBuffer(t *testing.T) {
	t.Parallel()
	want := raw(SubmitSMRespID, 0, 2, "5f3a9c1e\x00")
	for _, buf := range [][]byte{nil, make([]byte, 3)} {
		got, err := ReadFrame(bytes.NewReader(want), buf, 0)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("ReadFrame(buf cap %d) = %x, %v; want %x", cap(buf), got, err, want)
		}
	}
}

func TestReadFrameCapIsInclusive(t *testing.T) {
	t.Parallel()
	want := raw(SubmitSMRespID, 0, 2, "abc\x00")
	got, err := ReadFrame(bytes.NewReader(want), nil, uint32(len(want)))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("ReadFrame with max = len = %x, %v; want %x", got, err, want)
	}
}

func TestAppendErrors(t *testing.T) {
	t.Parallel()
	dests := func(n int) []MultiDest {
		d := make([]MultiDest, n)
		for i := range d {
			d[i] = MultiDest{Address: Address{TON: 1, NPI: 1, Addr: "447700900123"}}
		}
		return d
	}
	tests := []struct {
		name string
		body Body
		ok   bool
	}{
		{"NUL in system_id", &Bind{SystemID: "a\x00b"}, false},
		{"NUL in password", &Bind{Password: "\x00"}, false},
		{"NUL in address_range", &Bind{AddressRange: "44\x00"}, false},
		{"NUL in destination_addr", &SubmitSM{ShortMessage{Dest: Address{Addr: "44\x0077"}}}, false},
		{"NUL in dl_name", &SubmitMulti{Dests: []MultiDest{{DistList: "vip\x00"}}}, false},
		{"NUL in message_id", &SubmitSMResp{MessageID: "x\x00"}, false},
		{"NUL in short_message is fine", &SubmitSM{ShortMessage{Message: []byte("a\x00b")}}, true},
		{"short_message 254 octets", &SubmitSM{ShortMessage{Message: make([]byte, 254)}}, true},
		{"short_message 255 octets", &SubmitSM{ShortMessage{Message: make([]byte, 255)}}, false},
		{"deliver_sm short_message 255 octets", &DeliverSM{ShortMessage{Message: make([]byte, 255)}}, false},
		{"submit_multi short_message 255 octets", &SubmitMulti{Dests: dests(1), Message: make([]byte, 255)}, false},
		{"replace_sm short_message 255 octets", &ReplaceSM{Message: make([]byte, 255)}, false},
		{"TLV 65535 octets", &DataSM{TLVs: TLVs{{Tag: TagMessagePayload, Value: make([]byte, 65535)}}}, true},
		{"TLV 65536 octets", &DataSM{TLVs: TLVs{{Tag: TagMessagePayload, Value: make([]byte, 65536)}}}, false},
		{"PDU over MaxLength", &DataSM{TLVs: TLVs{
			{Tag: TagMessagePayload, Value: make([]byte, 40000)},
			{Tag: 0x1401, Value: make([]byte, 40000)},
		}}, false},
		{"255 dests", &SubmitMulti{Dests: dests(255)}, true},
		{"256 dests", &SubmitMulti{Dests: dests(256)}, false},
		{"256 unsuccess", &SubmitMultiResp{Unsuccess: make([]UnsuccessSME, 256)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prefix := []byte("prefix")
			got, err := Append(prefix, 1, StatusOK, tt.body)
			if tt.ok {
				if err != nil {
					t.Fatalf("Append: %v", err)
				}
				if _, _, err := Decode(got[len(prefix):]); err != nil {
					t.Errorf("Decode(Append()): %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Append succeeded; want error")
			}
			if !bytes.Equal(got, prefix) {
				t.Errorf("Append on error returned %q; want the prefix %q unchanged", got, prefix)
			}
		})
	}
}

func TestAppendAfterPrefix(t *testing.T) {
	t.Parallel()
	one, err := Append(nil, 1, 0, &EnquireLink{})
	if err != nil {
		t.Fatal(err)
	}
	two, err := Append(one, 2, 0, &SubmitSMResp{MessageID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(two)
	for _, want := range []Header{{16, EnquireLinkID, 0, 1}, {18, SubmitSMRespID, 0, 2}} {
		frame, err := ReadFrame(r, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := ParseHeader(frame); h != want {
			t.Errorf("header = %+v; want %+v", h, want)
		}
	}
}

// TestAppendErrorResponses checks the SMPP 3.4 rule that bind_*_resp and
// submit_sm_resp carry no body with a non-zero command_status, and that a
// body with content, or any other response, is still written.
func TestAppendErrorResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  Status
		body    Body
		wantLen int
	}{
		{"submit_sm_resp error", StatusThrottled, &SubmitSMResp{}, 16},
		{"submit_sm_resp ok, empty id", StatusOK, &SubmitSMResp{}, 17},
		{"submit_sm_resp error with id", StatusSysErr, &SubmitSMResp{MessageID: "ab"}, 19},
		{"submit_sm_resp error with TLV", StatusSysErr, &SubmitSMResp{TLVs: TLVs{{Tag: TagAdditionalStatusInfoText, Value: []byte("x\x00")}}}, 23},
		{"bind_transmitter_resp error", StatusInvPaswd, &BindResp{Role: Transmitter}, 16},
		{"bind_receiver_resp error", StatusInvSysID, &BindResp{Role: Receiver}, 16},
		{"bind_transceiver_resp error", StatusBindFail, &BindResp{Role: Transceiver}, 16},
		{"bind_transceiver_resp ok", StatusOK, &BindResp{Role: Transceiver}, 17},
		{"deliver_sm_resp error keeps NULL message_id", StatusXTAppn, &DeliverSMResp{}, 17},
		{"data_sm_resp error keeps NULL message_id", StatusXTAppn, &DataSMResp{}, 17},
		{"query_sm_resp error keeps body", StatusQueryFail, &QuerySMResp{}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Append(nil, 1, tt.status, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tt.wantLen {
				t.Errorf("len = %d (%x); want %d", len(b), b, tt.wantLen)
			}
			h, body, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != tt.status || !deepEqualBodies(body, tt.body) {
				t.Errorf("Decode = %+v %#v; want status %s, body %#v", h, body, tt.status.String(), tt.body)
			}
		})
	}
}
