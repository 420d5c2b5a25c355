package pdu

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// addSeeds adds every golden PDU and a few malformed ones to the corpus.
func addSeeds(f *testing.F, add func(frame []byte)) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no golden files: %v", err)
	}
	for _, path := range files {
		text, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		frame, err := undump(text)
		if err != nil {
			f.Fatalf("%s: %v", path, err)
		}
		add(frame)
	}
	add(nil)
	add(raw(EnquireLinkID, 0, 1)[:10])                                        // truncated header
	add(withLength(raw(EnquireLinkID, 0, 1), 8))                              // command_length < 16
	add(raw(0x00000050, 0, 1))                                                // unknown command
	add(raw(BindTransmitterID, 0, 1, "SMPP3TEST"))                            // cstring without NUL
	add(raw(SubmitSMID, 0, 1, submitSMBody, "\x05abc"))                       // sm_length beyond body
	add(raw(SubmitSMID, 0, 1, submitSMBody, "\x00", "\x04\x24\x00\x10abc"))   // TLV beyond body
	add(raw(SubmitMultiID, 0, 1, "\x00\x05\x00H\x00\x02\x03"))                // bad dest_flag
	add(raw(SubmitMultiRespID, 0, 1, "m\x00\x03", "\x01\x01123\x00\x00\x00")) // entries cut short
	add(raw(SubmitSMRespID, StatusThrottled, 1, "5f3a9c1e"))                  // lenient message_id
}

// FuzzDecode checks that Decode never panics, that it reports failures as
// a *DecodeError with a non-zero status, and that whatever it accepts
// survives a round trip: encoding the decoded body and decoding that again
// yields an equal header and body, and a second encoding is byte-identical.
//
// testdata/fuzz/FuzzDecode holds regression seeds for bugs fixed in the
// decoder: sm_length 255 (accepted, then refused by Append) and a
// submit_multi_resp cut short (a zero unsuccess_sme was invented).
func FuzzDecode(f *testing.F) {
	addSeeds(f, func(frame []byte) { f.Add(frame) })
	f.Fuzz(func(t *testing.T, frame []byte) {
		h, body, err := Decode(frame)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if de.Status == StatusOK || body != nil {
				t.Fatalf("error with status %s, body %v", de.Status.String(), body)
			}
			return
		}
		if body == nil || body.CommandID() != h.Command {
			t.Fatalf("body %T for %s", body, h.Command)
		}
		again, err := Append(nil, h.Seq, h.Status, body)
		if err != nil {
			if len(frame) >= MaxLength {
				return // Decode takes any length; Append caps it at MaxLength
			}
			t.Fatalf("Append(decoded %T): %v\n% x", body, err, frame)
		}
		// Re-encoding may add only what a lenient response left out: a
		// final NUL and zero scalars, at most 4 octets (query_sm_resp
		// with an empty body). More means the decoder invented content.
		if len(again) > len(frame)+4 {
			t.Fatalf("re-encoding grew from %d to %d octets:\n% x\n% x", len(frame), len(again), frame, again)
		}
		h2, body2, err := Decode(again)
		if err != nil {
			t.Fatalf("Decode(Append(decoded)): %v\n% x", err, again)
		}
		if h2.Command != h.Command || h2.Status != h.Status || h2.Seq != h.Seq {
			t.Fatalf("header changed: %+v -> %+v", h, h2)
		}
		if !reflect.DeepEqual(body, body2) {
			t.Fatalf("round trip changed the body:\n%#v\n%#v", body, body2)
		}
		third, err := Append(nil, h2.Seq, h2.Status, body2)
		if err != nil || !bytes.Equal(third, again) {
			t.Fatalf("second encoding differs: %v\n% x\n% x", err, again, third)
		}
	})
}

// FuzzReadFrame reads a stream of frames with a reused buffer and a cap:
// it never panics, every frame it returns is exactly command_length octets
// within the cap, and it stops with io.EOF, io.ErrUnexpectedEOF or a
// *DecodeError.
func FuzzReadFrame(f *testing.F) {
	var all [][]byte
	addSeeds(f, func(frame []byte) {
		all = append(all, frame)
		f.Add(frame, uint32(0))
	})
	f.Add(bytes.Join(all, nil), uint32(0))
	f.Add(bytes.Join(all, nil), uint32(64))
	f.Add(withLength(raw(SubmitSMID, 0, 1), 0xFFFFFFFF), uint32(0))
	f.Fuzz(func(t *testing.T, stream []byte, max uint32) {
		r := bytes.NewReader(stream)
		limit := max
		if limit == 0 {
			limit = MaxLength
		}
		var buf []byte
		consumed := 0
		for {
			frame, err := ReadFrame(r, buf, max)
			if err != nil {
				var de *DecodeError
				switch {
				case err == io.EOF:
					if consumed != len(stream) {
						t.Fatalf("io.EOF after %d of %d octets", consumed, len(stream))
					}
				case err == io.ErrUnexpectedEOF:
				case errors.As(err, &de):
					if de.Status != StatusInvCmdLen {
						t.Fatalf("ReadFrame DecodeError with status %s", de.Status.String())
					}
					// Below HeaderLen is reported first, even when the
					// cap is itself below HeaderLen.
					short := de.Header.Length < HeaderLen
					tooLarge := !short && de.Header.Length > limit
					if errors.Is(err, ErrFrameTooLarge) != tooLarge || (!short && !tooLarge) {
						t.Fatalf("bad length error for %+v (cap %d): %v", de.Header, limit, err)
					}
				default:
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			h, _ := ParseHeader(frame)
			if int(h.Length) != len(frame) || h.Length < HeaderLen || h.Length > limit {
				t.Fatalf("frame of %d octets with header %+v (cap %d)", len(frame), h, limit)
			}
			if !bytes.Equal(frame, stream[consumed:consumed+len(frame)]) {
				t.Fatalf("frame does not match the stream at %d", consumed)
			}
			consumed += len(frame)
			Decode(frame) // must not panic; FuzzDecode checks the rest
			buf = frame[:0]
		}
	})
}
