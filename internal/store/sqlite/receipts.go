package sqlite

import (
	"database/sql"
	"fmt"

	"github.com/herald-sms/herald/internal/store"
)

// receiptKeys spares the writer two queries per message: the search for
// a receipt that arrived before its submit response (orphan.find), made
// for every submit response, and the search of a receipt's part
// (corr.find), made for every receipt. Only the writer goroutine uses it.
//
// orphans is a superset of the correlation keys of kept orphan receipts:
// a key is added as soon as its orphan is written (so a rolled-back write
// leaves a harmless extra key behind, costing one query) and removed only
// once the group that applied the orphan has committed. A key not in it
// has no orphan.
//
// sent maps the keys of parts sent and awaiting their receipt to those
// parts. It is a cache: entries are added once their group has committed,
// a miss falls back to the query, and it starts over past maxCached.
type receiptKeys struct {
	orphans map[string]struct{}
	sent    map[string]*sentPart
	group   keyChanges // changes of the committing group's successful ops
}

// sentPart is a part awaiting its receipt, under each of its keys.
type sentPart struct {
	ref  store.PartRef
	keys []string // carrier-qualified, as in receiptKeys.sent
}

// keyChanges are the key changes of an op or of a group.
type keyChanges struct {
	sent     []*sentPart
	done     []string // keys of parts whose receipt was applied
	unorphan []string // keys of orphans applied and deleted
}

func (c *keyChanges) reset() {
	clear(c.sent)
	c.sent, c.done, c.unorphan = c.sent[:0], c.done[:0], c.unorphan[:0]
}

func (c *keyChanges) add(o *keyChanges) {
	c.sent = append(c.sent, o.sent...)
	c.done = append(c.done, o.done...)
	c.unorphan = append(c.unorphan, o.unorphan...)
}

func newReceiptKeys() receiptKeys {
	return receiptKeys{orphans: map[string]struct{}{}, sent: map[string]*sentPart{}}
}

// receiptKey is a correlation key qualified by its carrier.
func receiptKey(carrier, key string) string { return carrier + "\x00" + key }

// load reads the keys of the orphan receipts kept in the database.
func (k *receiptKeys) load(db *sql.DB) error {
	rows, err := db.Query(`SELECT carrier, key FROM orphan_keys`)
	if err != nil {
		return fmt.Errorf("sqlite: orphan keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c, key string
		if err := rows.Scan(&c, &key); err != nil {
			return fmt.Errorf("sqlite: orphan keys: %w", err)
		}
		k.orphans[receiptKey(c, key)] = struct{}{}
	}
	return rows.Err()
}

// mayHaveOrphan reports whether an orphan receipt may be kept for the key.
func (k *receiptKeys) mayHaveOrphan(carrier, key string) bool {
	_, ok := k.orphans[receiptKey(carrier, key)]
	return ok
}

// sentPart returns the part a key was last sent under, if known.
func (k *receiptKeys) sentPart(carrier, key string) *sentPart {
	return k.sent[receiptKey(carrier, key)]
}

// commit applies the committed group's changes.
func (k *receiptKeys) commit() {
	g := &k.group
	for _, key := range g.unorphan {
		delete(k.orphans, key)
	}
	if len(k.sent)+len(g.sent)*2 > maxCached {
		clear(k.sent)
	}
	for _, p := range g.sent {
		for _, key := range p.keys {
			k.sent[key] = p
		}
	}
	for _, key := range g.done {
		if p := k.sent[key]; p != nil {
			for _, pk := range p.keys {
				if k.sent[pk] == p {
					delete(k.sent, pk)
				}
			}
		}
	}
	g.reset()
}
