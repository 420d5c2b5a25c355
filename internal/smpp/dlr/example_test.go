package dlr_test

import (
	"fmt"
	"time"

	"github.com/herald-sms/herald/internal/smpp/dlr"
)

func ExampleParse() {
	const esmClass = 0x04 // from the deliver_sm
	body := []byte("id:6699 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:Your code is 1234\x00")
	if !dlr.IsReceipt(esmClass) {
		return
	}
	r, err := dlr.Parse(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The SMSC also sent receipted_message_id in the submit_sm_resp form.
	if err := r.ApplyTLVs(dlr.TLVs{ReceiptedMessageID: "1A2B"}); err != nil {
		fmt.Println(err)
	}
	fmt.Println(r.ID, r.TextID, r.State, r.State.Final(), r.DoneDate.Format(time.RFC3339), r.Text)
	// Output: 1A2B 6699 DELIVRD true 2023-01-15T12:31:00Z Your code is 1234
}

func ExampleKeys() {
	// submit_sm_resp gave hex, the receipt says decimal; formats not configured.
	submit, _ := dlr.Keys("00001A2B", dlr.IDAuto)
	receipt, _ := dlr.Keys("6699", dlr.IDAuto)
	fmt.Println(submit, receipt)

	// Once the carrier's formats are known there is one key per id.
	submit, _ = dlr.Keys("00001A2B", dlr.IDHex)
	receipt, _ = dlr.Keys("6699", dlr.IDDecimal)
	fmt.Println(submit, receipt)
	// Output:
	// [6699] [6699 26265]
	// [6699] [6699]
}

func ExampleAppendFormat() {
	r := dlr.Receipt{
		ID:        "0A1B2C",
		Submitted: 1, Delivered: 1,
		SubmitDate: time.Date(2023, 1, 15, 12, 30, 0, 0, time.UTC),
		DoneDate:   time.Date(2023, 1, 15, 12, 31, 0, 0, time.UTC),
		State:      dlr.StateDelivered,
		Text:       "Your code is 123456 - do not share it",
	}
	buf := make([]byte, 0, 160)
	buf = dlr.AppendFormat(buf, &r)
	fmt.Println(string(buf))
	// Output: id:0A1B2C sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:Your code is 123456
}
