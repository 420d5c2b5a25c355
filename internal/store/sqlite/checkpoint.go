package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// Checkpoints. A checkpoint copies pages from the WAL into the database
// file and syncs it. SQLite's default runs one inside the commit that
// takes the WAL past 1,000 pages, which in Herald is the writer's commit:
// a stall for every queued write, about 17 times a second under the
// Verify lane's load. And under continuous load the WAL was never
// restarted (we think because some reader always had a snapshot in it), so it grew by
// tens of MB a second until the load paused.
//
// So the writer connection does not checkpoint (wal_autocheckpoint=0).
// The checkpointer goroutine, with a connection of its own, runs a PASSIVE
// checkpoint every checkpointCommits commits, beside the writer and
// without blocking it. When the WAL has walLimitFrames frames or more, it
// asks the writer to restart it: between two groups, the writer runs a
// RESTART checkpoint on its connection, which by then has little left to
// copy, without waiting for readers (busy_timeout 0). If a reader still
// uses the WAL the restart waits for the next pass. journal_size_limit
// truncates the file back to about walLimitFrames once it restarts.

const (
	// checkpointCommits is the number of commits between two passes.
	checkpointCommits = 64
	// walLimitFrames is the WAL length (pages) past which the writer
	// restarts it: 16,384 frames of 4 KiB pages, about 64 MiB.
	walLimitFrames = 16384
	// journalSizeLimit is journal_size_limit in bytes: walLimitFrames
	// frames with their 24-byte headers, and the 32-byte file header.
	journalSizeLimit = walLimitFrames*(4096+24) + 32
	// busyTimeout is the writer's busy_timeout in milliseconds (also in
	// the DSN).
	busyTimeout = 10000
)

// checkpointer is the goroutine that checkpoints (see above). It stops
// when stop is closed; Close closes it once the writer has exited.
func (s *Store) checkpointer() {
	defer close(s.ckptDone)
	for {
		var reply chan error
		select {
		case <-s.ckptStop:
			return
		case <-s.ckptKick:
		case reply = <-s.ckptNow:
		}
		err := s.checkpointPass()
		if reply != nil {
			reply <- err
		} else if err != nil {
			s.log.Error("sqlite checkpoint failed", "err", err)
		}
	}
}

// checkpointPass runs a PASSIVE checkpoint on the checkpointer's
// connection and, when the WAL is at its limit, has the writer restart it.
func (s *Store) checkpointPass() error {
	var busy, frames, copied int
	if err := s.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	if frames < s.walLimit {
		return nil
	}
	req := make(chan error, 1)
	select {
	case s.walRestart <- req:
	case <-s.done:
		return nil
	}
	select {
	case err := <-req:
		return err
	case <-s.done:
		return nil
	}
}

// restartWAL is run by the writer goroutine between two groups: a RESTART
// checkpoint that does not wait for readers.
func (s *Store) restartWAL() error {
	ctx := context.Background()
	c, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: restart wal: %w", err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return fmt.Errorf("sqlite: restart wal: %w", err)
	}
	var busy, frames, copied int
	err = c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &copied)
	if _, rerr := c.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout)); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("sqlite: restart wal: %w", err)
	}
	return nil
}

// kickCheckpointer is called by the writer after each commit: every
// checkpointCommits commits it wakes the checkpointer, unless a pass is
// pending already.
func (s *Store) kickCheckpointer() {
	s.commits++
	if s.commits%checkpointCommits != 0 {
		return
	}
	select {
	case s.ckptKick <- struct{}{}:
	default:
	}
}

// openCheckpointer opens the checkpointer's connection.
func openCheckpointer(dsn string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	return db, nil
}
