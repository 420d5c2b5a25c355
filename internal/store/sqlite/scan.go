package sqlite

import (
	"database/sql"

	"github.com/herald-sms/herald/internal/herald"
)

type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
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
	var meta sql.NullString
	var sendAt, validUntil, created, updated int64
	var smart int
	err := r.Scan(&m.ID, &m.AccountID, &m.To, &m.From, &m.Body, &typ, &status, &m.Encoding, &m.PartCount,
		&sendAt, &validUntil, &m.CallbackURL, &m.Reference, &meta, &smart, &m.Carrier, &m.ErrorCode,
		&m.ErrorMessage, &m.Resends, &created, &updated)
	if err != nil {
		return nil, err
	}
	m.Type, m.Status = herald.MessageType(typ), herald.Status(status)
	if meta.Valid && meta.String != "" {
		m.Metadata = []byte(meta.String)
	}
	m.SendAt, m.ValidUntil, m.CreatedAt, m.UpdatedAt = tm(sendAt), tm(validUntil), tm(created), tm(updated)
	m.SmartEncoding = smart != 0
	return &m, nil
}

func scanPart(r scanner) (herald.Part, error) {
	var p herald.Part
	var status string
	var payload int
	var submitted, done, next int64
	err := r.Scan(&p.MessageID, &p.Seq, &status, &p.ShortMessage, &p.DataCoding, &p.ESMClass, &p.SARRef,
		&p.SARTotal, &p.SARSeq, &payload, &p.CarrierMessageID, &p.Attempts, &p.SubmitStatus, &p.ReceiptStat,
		&p.ReceiptErr, &submitted, &done, &next)
	p.Status = herald.Status(status)
	p.Payload = payload != 0
	p.SubmittedAt, p.DoneAt, p.NextAttemptAt = tm(submitted), tm(done), tm(next)
	return p, err
}

func nullString(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
