package pdu

// esm_class bits (SMPP 3.4 section 5.2.12).
const (
	ESMClassUDHI            = 0x40 // short_message starts with a user data header
	ESMClassReplyPath       = 0x80
	ESMClassTypeMask        = 0x3C // message type bits
	ESMClassDeliveryReceipt = 0x04 // deliver_sm carries an SMSC delivery receipt
	ESMClassIntermediate    = 0x20 // intermediate delivery notification
)

// registered_delivery values (section 5.2.17).
const (
	RegisteredDeliveryNone    = 0x00
	RegisteredDeliveryFinal   = 0x01 // receipt on success or failure
	RegisteredDeliveryFailure = 0x02 // receipt on failure only
)

// ShortMessage holds the fields shared by submit_sm and deliver_sm, whose
// bodies have the same layout.
type ShortMessage struct {
	ServiceType          string
	Source               Address
	Dest                 Address
	ESMClass             uint8
	ProtocolID           uint8
	PriorityFlag         uint8
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   uint8
	ReplaceIfPresent     uint8
	DataCoding           uint8
	SMDefaultMsgID       uint8
	Message              []byte // short_message, at most 254 octets
	TLVs                 TLVs
}

// Payload returns the message content: the message_payload TLV when
// present, else short_message.
func (m *ShortMessage) Payload() []byte {
	if v, ok := m.TLVs.Get(TagMessagePayload); ok {
		return v
	}
	return m.Message
}

// UDHI reports whether the content starts with a user data header.
func (m *ShortMessage) UDHI() bool { return m.ESMClass&ESMClassUDHI != 0 }

// IsReceipt reports whether a deliver_sm carries an SMSC delivery receipt
// (esm_class type 0x04) or an intermediate delivery notification (0x20)
// rather than a mobile-originated message. SME acknowledgements (0x08,
// 0x10) are not receipts.
func (m *ShortMessage) IsReceipt() bool {
	t := m.ESMClass & ESMClassTypeMask
	return t == ESMClassDeliveryReceipt || t == ESMClassIntermediate
}

func (m *ShortMessage) encode(e *encoder) {
	e.cstring(m.ServiceType, "service_type")
	e.address(m.Source, "source_addr")
	e.address(m.Dest, "destination_addr")
	e.u8(m.ESMClass)
	e.u8(m.ProtocolID)
	e.u8(m.PriorityFlag)
	e.cstring(m.ScheduleDeliveryTime, "schedule_delivery_time")
	e.cstring(m.ValidityPeriod, "validity_period")
	e.u8(m.RegisteredDelivery)
	e.u8(m.ReplaceIfPresent)
	e.u8(m.DataCoding)
	e.u8(m.SMDefaultMsgID)
	e.shortMessage(m.Message)
	e.tlvs(m.TLVs)
}

func (m *ShortMessage) decode(d *decoder) {
	m.ServiceType = d.cstring("service_type")
	m.Source = d.address("source_addr")
	m.Dest = d.address("destination_addr")
	m.ESMClass = d.u8("esm_class")
	m.ProtocolID = d.u8("protocol_id")
	m.PriorityFlag = d.u8("priority_flag")
	m.ScheduleDeliveryTime = d.cstring("schedule_delivery_time")
	m.ValidityPeriod = d.cstring("validity_period")
	m.RegisteredDelivery = d.u8("registered_delivery")
	m.ReplaceIfPresent = d.u8("replace_if_present_flag")
	m.DataCoding = d.u8("data_coding")
	m.SMDefaultMsgID = d.u8("sm_default_msg_id")
	m.Message = d.shortMessage()
	m.TLVs = d.tlvs()
}

// SubmitSM submits one short message to the SMSC.
type SubmitSM struct{ ShortMessage }

// CommandID implements Body.
func (*SubmitSM) CommandID() CommandID { return SubmitSMID }

// DeliverSM carries a mobile-originated message or a delivery receipt
// from the SMSC to the ESME.
type DeliverSM struct{ ShortMessage }

// CommandID implements Body.
func (*DeliverSM) CommandID() CommandID { return DeliverSMID }

// SubmitSMResp answers a SubmitSM; MessageID is the SMSC's id for the
// message (empty when the status is an error and the body was omitted).
// TLVs are not part of SMPP 3.4 here but some SMSCs send SMPP 5.0 ones;
// they are kept.
type SubmitSMResp struct {
	MessageID string
	TLVs      TLVs
}

// CommandID implements Body.
func (*SubmitSMResp) CommandID() CommandID { return SubmitSMRespID }

func (r *SubmitSMResp) encode(e *encoder) {
	e.cstring(r.MessageID, "message_id")
	e.tlvs(r.TLVs)
}

func (r *SubmitSMResp) omitOnError() bool { return r.MessageID == "" && len(r.TLVs) == 0 }

func (r *SubmitSMResp) decode(d *decoder) {
	r.MessageID = d.cstring("message_id")
	r.TLVs = d.tlvs()
}

// DeliverSMResp answers a DeliverSM; MessageID is unused and normally empty.
type DeliverSMResp struct {
	MessageID string
	TLVs      TLVs
}

// CommandID implements Body.
func (*DeliverSMResp) CommandID() CommandID { return DeliverSMRespID }

func (r *DeliverSMResp) encode(e *encoder) {
	e.cstring(r.MessageID, "message_id")
	e.tlvs(r.TLVs)
}

func (r *DeliverSMResp) decode(d *decoder) {
	r.MessageID = d.cstring("message_id")
	r.TLVs = d.tlvs()
}

// DataSM transfers data in either direction; the content travels in the
// message_payload TLV.
type DataSM struct {
	ServiceType        string
	Source             Address
	Dest               Address
	ESMClass           uint8
	RegisteredDelivery uint8
	DataCoding         uint8
	TLVs               TLVs
}

// CommandID implements Body.
func (*DataSM) CommandID() CommandID { return DataSMID }

func (m *DataSM) encode(e *encoder) {
	e.cstring(m.ServiceType, "service_type")
	e.address(m.Source, "source_addr")
	e.address(m.Dest, "destination_addr")
	e.u8(m.ESMClass)
	e.u8(m.RegisteredDelivery)
	e.u8(m.DataCoding)
	e.tlvs(m.TLVs)
}

func (m *DataSM) decode(d *decoder) {
	m.ServiceType = d.cstring("service_type")
	m.Source = d.address("source_addr")
	m.Dest = d.address("destination_addr")
	m.ESMClass = d.u8("esm_class")
	m.RegisteredDelivery = d.u8("registered_delivery")
	m.DataCoding = d.u8("data_coding")
	m.TLVs = d.tlvs()
}

// DataSMResp answers a DataSM.
type DataSMResp struct {
	MessageID string
	TLVs      TLVs
}

// CommandID implements Body.
func (*DataSMResp) CommandID() CommandID { return DataSMRespID }

func (r *DataSMResp) encode(e *encoder) {
	e.cstring(r.MessageID, "message_id")
	e.tlvs(r.TLVs)
}

func (r *DataSMResp) decode(d *decoder) {
	r.MessageID = d.cstring("message_id")
	r.TLVs = d.tlvs()
}

// Destination flags of submit_multi.
const (
	DestFlagSME          = 1
	DestFlagDistribution = 2
)

// MultiDest is one destination of a SubmitMulti: an SME address when
// DistList is empty, else the name of a distribution list.
type MultiDest struct {
	Address  Address
	DistList string
}

// SubmitMulti submits one message to up to 255 destinations.
type SubmitMulti struct {
	ServiceType          string
	Source               Address
	Dests                []MultiDest
	ESMClass             uint8
	ProtocolID           uint8
	PriorityFlag         uint8
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   uint8
	ReplaceIfPresent     uint8
	DataCoding           uint8
	SMDefaultMsgID       uint8
	Message              []byte
	TLVs                 TLVs
}

// CommandID implements Body.
func (*SubmitMulti) CommandID() CommandID { return SubmitMultiID }

func (m *SubmitMulti) encode(e *encoder) {
	e.cstring(m.ServiceType, "service_type")
	e.address(m.Source, "source_addr")
	if len(m.Dests) > 255 {
		e.failf("submit_multi with %d destinations exceeds 255", len(m.Dests))
		return
	}
	e.u8(uint8(len(m.Dests)))
	for _, dst := range m.Dests {
		if dst.DistList != "" {
			e.u8(DestFlagDistribution)
			e.cstring(dst.DistList, "dl_name")
			continue
		}
		e.u8(DestFlagSME)
		e.address(dst.Address, "destination_addr")
	}
	e.u8(m.ESMClass)
	e.u8(m.ProtocolID)
	e.u8(m.PriorityFlag)
	e.cstring(m.ScheduleDeliveryTime, "schedule_delivery_time")
	e.cstring(m.ValidityPeriod, "validity_period")
	e.u8(m.RegisteredDelivery)
	e.u8(m.ReplaceIfPresent)
	e.u8(m.DataCoding)
	e.u8(m.SMDefaultMsgID)
	e.shortMessage(m.Message)
	e.tlvs(m.TLVs)
}

func (m *SubmitMulti) decode(d *decoder) {
	m.ServiceType = d.cstring("service_type")
	m.Source = d.address("source_addr")
	n := int(d.u8("number_of_dests"))
	for i := 0; i < n && d.err == nil; i++ {
		switch d.u8("dest_flag") {
		case DestFlagSME:
			m.Dests = append(m.Dests, MultiDest{Address: d.address("destination_addr")})
		case DestFlagDistribution:
			m.Dests = append(m.Dests, MultiDest{DistList: d.cstring("dl_name")})
		default:
			d.fail(StatusInvDestFlag, "invalid dest_flag")
		}
	}
	m.ESMClass = d.u8("esm_class")
	m.ProtocolID = d.u8("protocol_id")
	m.PriorityFlag = d.u8("priority_flag")
	m.ScheduleDeliveryTime = d.cstring("schedule_delivery_time")
	m.ValidityPeriod = d.cstring("validity_period")
	m.RegisteredDelivery = d.u8("registered_delivery")
	m.ReplaceIfPresent = d.u8("replace_if_present_flag")
	m.DataCoding = d.u8("data_coding")
	m.SMDefaultMsgID = d.u8("sm_default_msg_id")
	m.Message = d.shortMessage()
	m.TLVs = d.tlvs()
}

// UnsuccessSME is a destination of a SubmitMulti that the SMSC refused.
type UnsuccessSME struct {
	Address Address
	Status  Status
}

// SubmitMultiResp answers a SubmitMulti.
type SubmitMultiResp struct {
	MessageID string
	Unsuccess []UnsuccessSME
}

// CommandID implements Body.
func (*SubmitMultiResp) CommandID() CommandID { return SubmitMultiRespID }

func (r *SubmitMultiResp) encode(e *encoder) {
	e.cstring(r.MessageID, "message_id")
	if len(r.Unsuccess) > 255 {
		e.failf("submit_multi_resp with %d unsuccessful destinations exceeds 255", len(r.Unsuccess))
		return
	}
	e.u8(uint8(len(r.Unsuccess)))
	for _, u := range r.Unsuccess {
		e.address(u.Address, "destination_addr")
		e.u32(uint32(u.Status))
	}
}

func (r *SubmitMultiResp) decode(d *decoder) {
	r.MessageID = d.cstring("message_id")
	n := int(d.u8("no_unsuccess"))
	for i := 0; i < n && d.err == nil && !d.short; i++ {
		a := d.address("destination_addr")
		s := Status(d.u32("error_status_code"))
		if d.err != nil || d.short {
			// The body ended before this entry did: keep the entries
			// actually present rather than invent a zero one.
			break
		}
		r.Unsuccess = append(r.Unsuccess, UnsuccessSME{Address: a, Status: s})
	}
}

// QuerySM asks the state of a previously submitted message.
type QuerySM struct {
	MessageID string
	Source    Address
}

// CommandID implements Body.
func (*QuerySM) CommandID() CommandID { return QuerySMID }

func (q *QuerySM) encode(e *encoder) {
	e.cstring(q.MessageID, "message_id")
	e.address(q.Source, "source_addr")
}

func (q *QuerySM) decode(d *decoder) {
	q.MessageID = d.cstring("message_id")
	q.Source = d.address("source_addr")
}

// QuerySMResp answers a QuerySM.
type QuerySMResp struct {
	MessageID    string
	FinalDate    string
	MessageState uint8
	ErrorCode    uint8
}

// CommandID implements Body.
func (*QuerySMResp) CommandID() CommandID { return QuerySMRespID }

func (r *QuerySMResp) encode(e *encoder) {
	e.cstring(r.MessageID, "message_id")
	e.cstring(r.FinalDate, "final_date")
	e.u8(r.MessageState)
	e.u8(r.ErrorCode)
}

func (r *QuerySMResp) decode(d *decoder) {
	r.MessageID = d.cstring("message_id")
	r.FinalDate = d.cstring("final_date")
	r.MessageState = d.u8("message_state")
	r.ErrorCode = d.u8("error_code")
}

// CancelSM cancels one or more pending messages.
type CancelSM struct {
	ServiceType string
	MessageID   string
	Source      Address
	Dest        Address
}

// CommandID implements Body.
func (*CancelSM) CommandID() CommandID { return CancelSMID }

func (c *CancelSM) encode(e *encoder) {
	e.cstring(c.ServiceType, "service_type")
	e.cstring(c.MessageID, "message_id")
	e.address(c.Source, "source_addr")
	e.address(c.Dest, "destination_addr")
}

func (c *CancelSM) decode(d *decoder) {
	c.ServiceType = d.cstring("service_type")
	c.MessageID = d.cstring("message_id")
	c.Source = d.address("source_addr")
	c.Dest = d.address("destination_addr")
}

// ReplaceSM replaces a pending message.
type ReplaceSM struct {
	MessageID            string
	Source               Address
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   uint8
	SMDefaultMsgID       uint8
	Message              []byte
}

// CommandID implements Body.
func (*ReplaceSM) CommandID() CommandID { return ReplaceSMID }

func (r *ReplaceSM) encode(e *encoder) {
	e.cstring(r.MessageID, "message_id")
	e.address(r.Source, "source_addr")
	e.cstring(r.ScheduleDeliveryTime, "schedule_delivery_time")
	e.cstring(r.ValidityPeriod, "validity_period")
	e.u8(r.RegisteredDelivery)
	e.u8(r.SMDefaultMsgID)
	e.shortMessage(r.Message)
}

func (r *ReplaceSM) decode(d *decoder) {
	r.MessageID = d.cstring("message_id")
	r.Source = d.address("source_addr")
	r.ScheduleDeliveryTime = d.cstring("schedule_delivery_time")
	r.ValidityPeriod = d.cstring("validity_period")
	r.RegisteredDelivery = d.u8("registered_delivery")
	r.SMDefaultMsgID = d.u8("sm_default_msg_id")
	r.Message = d.shortMessage()
}

// AlertNotification tells an ESME that a mobile became available.
type AlertNotification struct {
	Source Address
	ESME   Address
	TLVs   TLVs // ms_availability_status
}

// CommandID implements Body.
func (*AlertNotification) CommandID() CommandID { return AlertNotificationID }

func (a *AlertNotification) encode(e *encoder) {
	e.address(a.Source, "source_addr")
	e.address(a.ESME, "esme_addr")
	e.tlvs(a.TLVs)
}

func (a *AlertNotification) decode(d *decoder) {
	a.Source = d.address("source_addr")
	a.ESME = d.address("esme_addr")
	a.TLVs = d.tlvs()
}
