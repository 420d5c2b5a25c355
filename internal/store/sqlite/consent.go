package sqlite

import (
	"cmp"
	"fmt"
	"slices"
	"sync"

	"github.com/herald-sms/herald/internal/herald"
)

// consentCache holds the senders and the account policies in memory, so
// that the intake's consent check (the account's policy and senders for
// every request, the owner of the sender of every message) and inbound
// routing need no query. It is complete and exact because the store is
// the database's only writer: it is loaded at Open, and the writes that
// change senders and policies change it once they have committed, before
// they return. Its size is that of the two tables, which hold what
// accounts registered (senders, one policy each), not traffic.
//
// Callers get copies: what they do with them does not reach the cache.
type consentCache struct {
	mu        sync.RWMutex
	byAddress map[string]*herald.Sender   // mu guards byAddress, byAccount and policies
	byAccount map[string][]*herald.Sender // in the order of Senders: created_at, then id
	policies  map[string]*herald.Policy   // accounts that set one
}

// load fills the cache from the database.
func (c *consentCache) load(s *Store) error {
	c.byAddress = map[string]*herald.Sender{}
	c.byAccount = map[string][]*herald.Sender{}
	c.policies = map[string]*herald.Policy{}
	rows, err := s.r.Query(`SELECT ` + senderColumns + ` FROM senders`)
	if err != nil {
		return fmt.Errorf("sqlite: senders: %w", err)
	}
	for rows.Next() {
		snd, err := scanSender(rows)
		if err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: senders: %w", err)
		}
		c.addSender(snd)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: senders: %w", err)
	}
	rows, err = s.r.Query(`SELECT account_id, allow_any_sender, opt_out_scope, exempt, updated_at FROM account_policies`)
	if err != nil {
		return fmt.Errorf("sqlite: policies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var account, scope, exempt string
		var allowAny int
		var updated int64
		if err := rows.Scan(&account, &allowAny, &scope, &exempt, &updated); err != nil {
			return fmt.Errorf("sqlite: policies: %w", err)
		}
		c.setPolicy(policyFromRow(account, allowAny, scope, exempt, updated))
	}
	return rows.Err()
}

func compareSenders(a, b *herald.Sender) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
}

// addSender records a committed sender; snd becomes the cache's.
func (c *consentCache) addSender(snd *herald.Sender) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byAddress[snd.Address] = snd
	list := c.byAccount[snd.AccountID]
	i, _ := slices.BinarySearchFunc(list, snd, compareSenders)
	c.byAccount[snd.AccountID] = slices.Insert(list, i, snd)
}

// deleteSender forgets a deleted sender.
func (c *consentCache) deleteSender(accountID, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.byAccount[accountID]
	i := slices.IndexFunc(list, func(s *herald.Sender) bool { return s.ID == id })
	if i < 0 {
		return
	}
	delete(c.byAddress, list[i].Address)
	if list = slices.Delete(list, i, i+1); len(list) == 0 {
		delete(c.byAccount, accountID)
	} else {
		c.byAccount[accountID] = list
	}
}

// sender returns a copy of the sender registered with address, or nil.
func (c *consentCache) sender(address string) *herald.Sender {
	c.mu.RLock()
	defer c.mu.RUnlock()
	snd := c.byAddress[address]
	if snd == nil {
		return nil
	}
	cp := *snd
	return &cp
}

// senders returns copies of the account's senders, in order.
func (c *consentCache) senders(accountID string) []*herald.Sender {
	c.mu.RLock()
	defer c.mu.RUnlock()
	list := c.byAccount[accountID]
	if len(list) == 0 {
		return nil
	}
	out := make([]*herald.Sender, len(list))
	for i, snd := range list {
		cp := *snd
		out[i] = &cp
	}
	return out
}

// setPolicy records a committed policy; p becomes the cache's.
func (c *consentCache) setPolicy(p *herald.Policy) {
	c.mu.Lock()
	c.policies[p.AccountID] = p
	c.mu.Unlock()
}

// policy returns a copy of the account's policy, or the defaults when it
// set none.
func (c *consentCache) policy(accountID string) *herald.Policy {
	c.mu.RLock()
	p := c.policies[accountID]
	c.mu.RUnlock()
	if p == nil {
		return &herald.Policy{AccountID: accountID, OptOutScope: herald.ScopeSender}
	}
	cp := *p
	cp.Exempt = slices.Clone(p.Exempt)
	return &cp
}
