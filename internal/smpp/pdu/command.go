package pdu

import "fmt"

// CommandID is the SMPP command_id field.
type CommandID uint32

// SMPP 3.4 command identifiers (section 5.1.2.1).
const (
	GenericNackID         CommandID = 0x80000000
	BindReceiverID        CommandID = 0x00000001
	BindReceiverRespID    CommandID = 0x80000001
	BindTransmitterID     CommandID = 0x00000002
	BindTransmitterRespID CommandID = 0x80000002
	QuerySMID             CommandID = 0x00000003
	QuerySMRespID         CommandID = 0x80000003
	SubmitSMID            CommandID = 0x00000004
	SubmitSMRespID        CommandID = 0x80000004
	DeliverSMID           CommandID = 0x00000005
	DeliverSMRespID       CommandID = 0x80000005
	UnbindID              CommandID = 0x00000006
	UnbindRespID          CommandID = 0x80000006
	ReplaceSMID           CommandID = 0x00000007
	ReplaceSMRespID       CommandID = 0x80000007
	CancelSMID            CommandID = 0x00000008
	CancelSMRespID        CommandID = 0x80000008
	BindTransceiverID     CommandID = 0x00000009
	BindTransceiverRespID CommandID = 0x80000009
	OutbindID             CommandID = 0x0000000B
	EnquireLinkID         CommandID = 0x00000015
	EnquireLinkRespID     CommandID = 0x80000015
	SubmitMultiID         CommandID = 0x00000021
	SubmitMultiRespID     CommandID = 0x80000021
	AlertNotificationID   CommandID = 0x00000102
	DataSMID              CommandID = 0x00000103
	DataSMRespID          CommandID = 0x80000103
)

const respBit CommandID = 0x80000000

var commandNames = map[CommandID]string{
	GenericNackID:         "generic_nack",
	BindReceiverID:        "bind_receiver",
	BindReceiverRespID:    "bind_receiver_resp",
	BindTransmitterID:     "bind_transmitter",
	BindTransmitterRespID: "bind_transmitter_resp",
	QuerySMID:             "query_sm",
	QuerySMRespID:         "query_sm_resp",
	SubmitSMID:            "submit_sm",
	SubmitSMRespID:        "submit_sm_resp",
	DeliverSMID:           "deliver_sm",
	DeliverSMRespID:       "deliver_sm_resp",
	UnbindID:              "unbind",
	UnbindRespID:          "unbind_resp",
	ReplaceSMID:           "replace_sm",
	ReplaceSMRespID:       "replace_sm_resp",
	CancelSMID:            "cancel_sm",
	CancelSMRespID:        "cancel_sm_resp",
	BindTransceiverID:     "bind_transceiver",
	BindTransceiverRespID: "bind_transceiver_resp",
	OutbindID:             "outbind",
	EnquireLinkID:         "enquire_link",
	EnquireLinkRespID:     "enquire_link_resp",
	SubmitMultiID:         "submit_multi",
	SubmitMultiRespID:     "submit_multi_resp",
	AlertNotificationID:   "alert_notification",
	DataSMID:              "data_sm",
	DataSMRespID:          "data_sm_resp",
}

// String returns the SMPP name of the command, e.g. "submit_sm", or a hex
// form for unknown identifiers.
func (c CommandID) String() string {
	if n, ok := commandNames[c]; ok {
		return n
	}
	return fmt.Sprintf("command_id(0x%08X)", uint32(c))
}

// Known reports whether c is an SMPP 3.4 command this package decodes.
func (c CommandID) Known() bool {
	_, ok := commandNames[c]
	return ok
}

// IsResponse reports whether c is a response command (high bit set).
func (c CommandID) IsResponse() bool { return c&respBit != 0 }

// Response returns the command_id of the response to request c. For
// commands without a response (outbind, alert_notification, generic_nack
// and responses themselves) it returns generic_nack.
func (c CommandID) Response() CommandID {
	switch c {
	case OutbindID, AlertNotificationID, GenericNackID:
		return GenericNackID
	}
	if c.IsResponse() {
		return GenericNackID
	}
	return c | respBit
}

// NewBody returns an empty body of the type that decodes command c, or nil
// when c is unknown.
func NewBody(c CommandID) Body {
	switch c {
	case GenericNackID:
		return &GenericNack{}
	case BindReceiverID:
		return &Bind{Role: Receiver}
	case BindTransmitterID:
		return &Bind{Role: Transmitter}
	case BindTransceiverID:
		return &Bind{Role: Transceiver}
	case BindReceiverRespID:
		return &BindResp{Role: Receiver}
	case BindTransmitterRespID:
		return &BindResp{Role: Transmitter}
	case BindTransceiverRespID:
		return &BindResp{Role: Transceiver}
	case QuerySMID:
		return &QuerySM{}
	case QuerySMRespID:
		return &QuerySMResp{}
	case SubmitSMID:
		return &SubmitSM{}
	case SubmitSMRespID:
		return &SubmitSMResp{}
	case DeliverSMID:
		return &DeliverSM{}
	case DeliverSMRespID:
		return &DeliverSMResp{}
	case UnbindID:
		return &Unbind{}
	case UnbindRespID:
		return &UnbindResp{}
	case ReplaceSMID:
		return &ReplaceSM{}
	case ReplaceSMRespID:
		return &ReplaceSMResp{}
	case CancelSMID:
		return &CancelSM{}
	case CancelSMRespID:
		return &CancelSMResp{}
	case OutbindID:
		return &Outbind{}
	case EnquireLinkID:
		return &EnquireLink{}
	case EnquireLinkRespID:
		return &EnquireLinkResp{}
	case SubmitMultiID:
		return &SubmitMulti{}
	case SubmitMultiRespID:
		return &SubmitMultiResp{}
	case AlertNotificationID:
		return &AlertNotification{}
	case DataSMID:
		return &DataSM{}
	case DataSMRespID:
		return &DataSMResp{}
	}
	return nil
}
