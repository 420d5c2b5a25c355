package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// txConn is one transaction on a pooled connection. Unlike pgx.Tx it
// sends BEGIN with the transaction's first statements and COMMIT with its
// last batch, in the same pipelines: two round trips fewer per commit
// group, which is what a group mostly waits on.
type txConn struct {
	conn  *pgxpool.Conn
	begun bool // BEGIN has been sent
}

func (s *Store) begin(ctx context.Context) (*txConn, error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: connection: %w", err)
	}
	return &txConn{conn: c}, nil
}

// withBegin returns b, led by BEGIN if the transaction has not begun.
func (t *txConn) withBegin(b *pgx.Batch) (*pgx.Batch, bool) {
	if t.begun {
		return b, false
	}
	t.begun = true
	nb := &pgx.Batch{}
	nb.Queue("BEGIN")
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	return nb, true
}

// SendBatch sends b in the transaction.
func (t *txConn) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	b, began := t.withBegin(b)
	br := t.conn.SendBatch(ctx, b)
	if began {
		// An error here is the next result's too: the server skips the
		// rest of a pipeline after an error.
		br.Exec()
	}
	return br
}

// Exec runs a statement in the transaction.
func (t *txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.begun {
		return t.conn.Exec(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := t.SendBatch(ctx, b)
	tag, err := br.Exec()
	return tag, errors.Join(err, br.Close())
}

// Query runs a query in the transaction.
func (t *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.begun {
		return t.conn.Query(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := t.SendBatch(ctx, b)
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow runs a query of one row in the transaction.
func (t *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.begun {
		return t.conn.QueryRow(ctx, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := t.SendBatch(ctx, b)
	return batchRow{row: br.QueryRow(), br: br}
}

// batchRows closes the batch its rows came from with them.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r *batchRows) Close() {
	r.Rows.Close()
	r.br.Close()
}

type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// errCommitUnknown marks a failure of COMMIT itself: the transaction may
// or may not have committed (the connection may have been lost after).
var errCommitUnknown = errors.New("postgres: commit")

// commit sends b, then COMMIT, in one pipeline; names name b's
// statements for errors. A failure before COMMIT leaves nothing
// committed; a failure of COMMIT is wrapped in errCommitUnknown.
func (t *txConn) commit(ctx context.Context, b *pgx.Batch, names []string) error {
	if !t.begun && b.Len() == 0 {
		return nil // nothing was read or written
	}
	n := b.Len()
	b.Queue("COMMIT")
	br := t.SendBatch(ctx, b)
	defer br.Close()
	for i := range n {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("postgres: write %s: %w", names[i], err)
		}
	}
	tag, err := br.Exec()
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("COMMIT answered %q", tag.String()) // rolled back
		return fmt.Errorf("postgres: %w", err)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", errCommitUnknown, err)
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("%w: %w", errCommitUnknown, err)
	}
	return nil
}

// release ends the transaction (rolling it back unless it committed) and
// returns the connection to the pool, which drops a connection left in a
// transaction or broken.
func (t *txConn) release(ctx context.Context) {
	if t.begun && t.conn.Conn().PgConn().TxStatus() != 'I' {
		t.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	t.conn.Release()
}
