package postgres

import (
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/jackc/pgx/v5"
)

const messageColumns = `id, account_id, to_addr, from_addr, body, type, status, encoding, part_count,
	send_at, valid_until, callback_url, reference, metadata, smart_encoding, carrier, error_code,
	error_message, resends, created_at, updated_at, owner, ephemeral`

const partColumns = `message_id, seq, status, short_message, data_coding, esm_class, sar_ref, sar_total,
	sar_seq, payload, carrier_message_id, attempts, submit_status, receipt_stat, receipt_err,
	submitted_at, done_at, next_attempt_at`

type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanMessage(r scanner) (*herald.Message, error) {
	var m herald.Message
	var typ, status string
	var meta *string
	var sendAt, validUntil, created, updated int64
	err := r.Scan(&m.ID, &m.AccountID, &m.To, &m.From, &m.Body, &typ, &status, &m.Encoding, &m.PartCount,
		&sendAt, &validUntil, &m.CallbackURL, &m.Reference, &meta, &m.SmartEncoding, &m.Carrier, &m.ErrorCode,
		&m.ErrorMessage, &m.Resends, &created, &updated, &m.Owner, &m.Ephemeral)
	if err != nil {
		return nil, err
	}
	m.Type, m.Status = herald.MessageType(typ), herald.Status(status)
	if meta != nil && *meta != "" {
		m.Metadata = []byte(*meta)
	}
	m.SendAt, m.ValidUntil, m.CreatedAt, m.UpdatedAt = tm(sendAt), tm(validUntil), tm(created), tm(updated)
	return &m, nil
}

func scanPart(r scanner) (herald.Part, error) {
	var p herald.Part
	var status string
	var dataCoding, esmClass, sarTotal, sarSeq int16
	var sarRef int32
	var submitStatus, submitted, done, next int64
	err := r.Scan(&p.MessageID, &p.Seq, &status, &p.ShortMessage, &dataCoding, &esmClass, &sarRef,
		&sarTotal, &sarSeq, &p.Payload, &p.CarrierMessageID, &p.Attempts, &submitStatus, &p.ReceiptStat,
		&p.ReceiptErr, &submitted, &done, &next)
	p.Status = herald.Status(status)
	p.DataCoding, p.ESMClass, p.SARRef, p.SARTotal, p.SARSeq = uint8(dataCoding), uint8(esmClass), uint16(sarRef),
		uint8(sarTotal), uint8(sarSeq)
	p.SubmitStatus = uint32(submitStatus)
	p.SubmittedAt, p.DoneAt, p.NextAttemptAt = tm(submitted), tm(done), tm(next)
	return p, err
}

// ns converts a time to the stored integer (0 for the zero time).
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// tm converts a stored integer back to a time.
func tm(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}
