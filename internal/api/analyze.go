package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smstext"
)

type analyzeRequest struct {
	Body          string `json:"body"`
	SmartEncoding bool   `json:"smart_encoding"`
}

// analysisView is the answer of POST /v1/text/analyze.
type analysisView struct {
	Encoding          string   `json:"encoding"`    // "gsm7" or "ucs2"
	DataCoding        int      `json:"data_coding"` // SMPP data_coding
	Parts             int      `json:"parts"`
	CharactersPerPart []int    `json:"characters_per_part"`
	UnitsPerPart      []int    `json:"units_per_part"`
	Units             int      `json:"units"`     // septets (escapes count 2) or UTF-16 code units
	Capacity          int      `json:"capacity"`  // units each part holds
	Remaining         int      `json:"remaining"` // units still free in the last part
	UCS2Characters    []string `json:"ucs2_characters"`
	Text              string   `json:"text"`                   // what would be sent
	SmartEncoded      bool     `json:"smart_encoding_changed"` // smart encoding changed the text
}

// analyze answers POST /v1/text/analyze: how a body would be encoded and
// split, with the default text options (GSM-7 default alphabet or UCS-2,
// 8-bit concatenation reference) plus smart encoding when asked.
func (s *Server) analyze(w http.ResponseWriter, r *http.Request, _ string) error {
	var req analyzeRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	a := smstext.Analyze(req.Body, smstext.Options{Smart: req.SmartEncoding})
	if errors.Is(a.Err, smstext.ErrTooManyParts) {
		return &herald.Error{Kind: herald.KindInvalid, Code: codeTooManyParts, Field: "body",
			Message: "body needs more than 255 parts", Err: a.Err}
	}
	if a.Err != nil {
		return fmt.Errorf("analyze: %w", a.Err)
	}
	v := analysisView{
		Encoding: encodingName(a.Encoding), DataCoding: int(a.DataCoding), Parts: a.Parts,
		CharactersPerPart: a.PartChars, UnitsPerPart: a.PartUnits, Units: a.Units,
		Capacity: a.Capacity, Remaining: a.Remaining, UCS2Characters: make([]string, 0, len(a.UCS2Chars)),
		Text: a.Text, SmartEncoded: a.Mapped,
	}
	for _, c := range a.UCS2Chars {
		v.UCS2Characters = append(v.UCS2Characters, string(c))
	}
	return writeJSON(w, http.StatusOK, v)
}

// encodingName names an encoding as herald.Message.Encoding does.
func encodingName(e smstext.Encoding) string {
	switch e {
	case smstext.GSM7:
		return "gsm7"
	case smstext.UCS2:
		return "ucs2"
	case smstext.Latin1:
		return "latin1"
	case smstext.Binary:
		return "binary"
	case smstext.IA5:
		return "ia5"
	}
	return e.String()
}
