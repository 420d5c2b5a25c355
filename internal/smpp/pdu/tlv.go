package pdu

import (
	"encoding/binary"
	"fmt"
)

// Tag identifies an optional parameter (TLV).
type Tag uint16

// SMPP 3.4 optional parameter tags (section 5.3.2).
const (
	TagDestAddrSubunit          Tag = 0x0005
	TagDestNetworkType          Tag = 0x0006
	TagDestBearerType           Tag = 0x0007
	TagDestTelematicsID         Tag = 0x0008
	TagSourceAddrSubunit        Tag = 0x000D
	TagSourceNetworkType        Tag = 0x000E
	TagSourceBearerType         Tag = 0x000F
	TagSourceTelematicsID       Tag = 0x0010
	TagQosTimeToLive            Tag = 0x0017
	TagPayloadType              Tag = 0x0019
	TagAdditionalStatusInfoText Tag = 0x001D
	TagReceiptedMessageID       Tag = 0x001E
	TagMsMsgWaitFacilities      Tag = 0x0030
	TagPrivacyIndicator         Tag = 0x0201
	TagSourceSubaddress         Tag = 0x0202
	TagDestSubaddress           Tag = 0x0203
	TagUserMessageReference     Tag = 0x0204
	TagUserResponseCode         Tag = 0x0205
	TagSourcePort               Tag = 0x020A
	TagDestinationPort          Tag = 0x020B
	TagSarMsgRefNum             Tag = 0x020C
	TagLanguageIndicator        Tag = 0x020D
	TagSarTotalSegments         Tag = 0x020E
	TagSarSegmentSeqnum         Tag = 0x020F
	TagScInterfaceVersion       Tag = 0x0210
	TagCallbackNumPresInd       Tag = 0x0302
	TagCallbackNumAtag          Tag = 0x0303
	TagNumberOfMessages         Tag = 0x0304
	TagCallbackNum              Tag = 0x0381
	TagDpfResult                Tag = 0x0420
	TagSetDpf                   Tag = 0x0421
	TagMsAvailabilityStatus     Tag = 0x0422
	TagNetworkErrorCode         Tag = 0x0423
	TagMessagePayload           Tag = 0x0424
	TagDeliveryFailureReason    Tag = 0x0425
	TagMoreMessagesToSend       Tag = 0x0426
	TagMessageState             Tag = 0x0427
	TagUssdServiceOp            Tag = 0x0501
	TagDisplayTime              Tag = 0x1201
	TagSmsSignal                Tag = 0x1203
	TagMsValidity               Tag = 0x1204
	TagAlertOnMessageDelivery   Tag = 0x130C
	TagItsReplyType             Tag = 0x1380
	TagItsSessionInfo           Tag = 0x1383
)

var tagNames = map[Tag]string{
	TagDestAddrSubunit:          "dest_addr_subunit",
	TagDestNetworkType:          "dest_network_type",
	TagDestBearerType:           "dest_bearer_type",
	TagDestTelematicsID:         "dest_telematics_id",
	TagSourceAddrSubunit:        "source_addr_subunit",
	TagSourceNetworkType:        "source_network_type",
	TagSourceBearerType:         "source_bearer_type",
	TagSourceTelematicsID:       "source_telematics_id",
	TagQosTimeToLive:            "qos_time_to_live",
	TagPayloadType:              "payload_type",
	TagAdditionalStatusInfoText: "additional_status_info_text",
	TagReceiptedMessageID:       "receipted_message_id",
	TagMsMsgWaitFacilities:      "ms_msg_wait_facilities",
	TagPrivacyIndicator:         "privacy_indicator",
	TagSourceSubaddress:         "source_subaddress",
	TagDestSubaddress:           "dest_subaddress",
	TagUserMessageReference:     "user_message_reference",
	TagUserResponseCode:         "user_response_code",
	TagSourcePort:               "source_port",
	TagDestinationPort:          "destination_port",
	TagSarMsgRefNum:             "sar_msg_ref_num",
	TagLanguageIndicator:        "language_indicator",
	TagSarTotalSegments:         "sar_total_segments",
	TagSarSegmentSeqnum:         "sar_segment_seqnum",
	TagScInterfaceVersion:       "sc_interface_version",
	TagCallbackNumPresInd:       "callback_num_pres_ind",
	TagCallbackNumAtag:          "callback_num_atag",
	TagNumberOfMessages:         "number_of_messages",
	TagCallbackNum:              "callback_num",
	TagDpfResult:                "dpf_result",
	TagSetDpf:                   "set_dpf",
	TagMsAvailabilityStatus:     "ms_availability_status",
	TagNetworkErrorCode:         "network_error_code",
	TagMessagePayload:           "message_payload",
	TagDeliveryFailureReason:    "delivery_failure_reason",
	TagMoreMessagesToSend:       "more_messages_to_send",
	TagMessageState:             "message_state",
	TagUssdServiceOp:            "ussd_service_op",
	TagDisplayTime:              "display_time",
	TagSmsSignal:                "sms_signal",
	TagMsValidity:               "ms_validity",
	TagAlertOnMessageDelivery:   "alert_on_message_delivery",
	TagItsReplyType:             "its_reply_type",
	TagItsSessionInfo:           "its_session_info",
}

// String returns the SMPP name of the tag, or a hex form for unknown tags.
func (t Tag) String() string {
	if n, ok := tagNames[t]; ok {
		return n
	}
	return fmt.Sprintf("tlv(0x%04X)", uint16(t))
}

// Known reports whether t is an optional parameter defined by SMPP 3.4.
func (t Tag) Known() bool {
	_, ok := tagNames[t]
	return ok
}

// TLV is one optional parameter. Value is the raw value bytes; its length
// on the wire is len(Value), at most 65535.
type TLV struct {
	Tag   Tag
	Value []byte
}

// TLVs is an ordered list of optional parameters. Order is preserved from
// the wire so that a decoded PDU encodes back to the same bytes, and tags
// unknown to this package are kept as they are.
type TLVs []TLV

// Get returns the value of the first TLV with tag t.
func (ts TLVs) Get(t Tag) ([]byte, bool) {
	for i := range ts {
		if ts[i].Tag == t {
			return ts[i].Value, true
		}
	}
	return nil, false
}

// Has reports whether a TLV with tag t is present.
func (ts TLVs) Has(t Tag) bool {
	_, ok := ts.Get(t)
	return ok
}

// Uint8 returns the value of a one-octet TLV. ok is false when the tag is
// absent or its value is not exactly one octet.
func (ts TLVs) Uint8(t Tag) (v uint8, ok bool) {
	b, found := ts.Get(t)
	if !found || len(b) != 1 {
		return 0, false
	}
	return b[0], true
}

// Uint16 returns the value of a two-octet TLV (big-endian).
func (ts TLVs) Uint16(t Tag) (v uint16, ok bool) {
	b, found := ts.Get(t)
	if !found || len(b) != 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(b), true
}

// Uint32 returns the value of a four-octet TLV (big-endian).
func (ts TLVs) Uint32(t Tag) (v uint32, ok bool) {
	b, found := ts.Get(t)
	if !found || len(b) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(b), true
}

// CString returns the value of a C-octet string TLV without its NUL
// terminator. A value that lacks the terminator (a common carrier
// deviation) is returned whole.
func (ts TLVs) CString(t Tag) (string, bool) {
	b, found := ts.Get(t)
	if !found {
		return "", false
	}
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), true
		}
	}
	return string(b), true
}

// Set replaces the value of the first TLV with tag t, or appends one.
func (ts *TLVs) Set(t Tag, v []byte) {
	for i := range *ts {
		if (*ts)[i].Tag == t {
			(*ts)[i].Value = v
			return
		}
	}
	*ts = append(*ts, TLV{Tag: t, Value: v})
}

// SetUint8 sets a one-octet TLV.
func (ts *TLVs) SetUint8(t Tag, v uint8) { ts.Set(t, []byte{v}) }

// SetUint16 sets a two-octet TLV.
func (ts *TLVs) SetUint16(t Tag, v uint16) {
	ts.Set(t, binary.BigEndian.AppendUint16(nil, v))
}

// SetUint32 sets a four-octet TLV.
func (ts *TLVs) SetUint32(t Tag, v uint32) {
	ts.Set(t, binary.BigEndian.AppendUint32(nil, v))
}

// SetCString sets a C-octet string TLV (the NUL terminator is added).
func (ts *TLVs) SetCString(t Tag, v string) {
	b := make([]byte, len(v)+1)
	copy(b, v)
	ts.Set(t, b)
}

// Delete removes every TLV with tag t.
func (ts *TLVs) Delete(t Tag) {
	out := (*ts)[:0]
	for _, tv := range *ts {
		if tv.Tag != t {
			out = append(out, tv)
		}
	}
	*ts = out
}
