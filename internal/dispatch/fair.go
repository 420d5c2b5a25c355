package dispatch

// fairQueue holds one priority class of a link's due parts, one FIFO per
// account, and hands them out round robin between the accounts that have
// parts waiting: one account's campaign of a million parts and another's
// ten alerts alternate, so the alerts go within ten turns. Not safe for
// concurrent use; the lane's mutex guards it.
type fairQueue struct {
	accts map[string]*acctQueue
	ring  []*acctQueue // accounts with parts waiting, in turn order
	next  int          // index in ring of the account whose turn it is
	n     int          // parts in all
}

type acctQueue struct {
	id   string
	jobs deque
}

func (f *fairQueue) len() int { return f.n }

func (f *fairQueue) acct(id string) *acctQueue {
	if f.accts == nil {
		f.accts = map[string]*acctQueue{}
	}
	a := f.accts[id]
	if a == nil {
		a = &acctQueue{id: id}
		f.accts[id] = a
	}
	if a.jobs.len() == 0 {
		f.next = min(f.next, len(f.ring))
		// Joins the turn order just before the account whose turn it is:
		// it waits at most one round.
		f.ring = append(f.ring, nil)
		copy(f.ring[f.next+1:], f.ring[f.next:])
		f.ring[f.next] = a
		if len(f.ring) > 1 {
			f.next++
		}
	}
	return a
}

// push appends j to its account's queue.
func (f *fairQueue) push(j *job) {
	f.acct(j.m.AccountID).jobs.pushBack(j)
	f.n++
}

// pushFront puts j back at the head of its account's queue, and gives
// that account the next turn.
func (f *fairQueue) pushFront(j *job) {
	a := f.acct(j.m.AccountID)
	a.jobs.pushFront(j)
	f.n++
	for i, x := range f.ring {
		if x == a {
			f.next = i
			break
		}
	}
}

// pop takes the next part in turn; nil when empty.
func (f *fairQueue) pop() *job {
	if f.n == 0 {
		return nil
	}
	if f.next >= len(f.ring) {
		f.next = 0
	}
	a := f.ring[f.next]
	j := a.jobs.popFront()
	f.n--
	if a.jobs.len() == 0 {
		f.ring = append(f.ring[:f.next], f.ring[f.next+1:]...)
		delete(f.accts, a.id)
	} else {
		f.next++
	}
	return j
}

// deque is a ring buffer of jobs.
type deque struct {
	buf  []*job
	head int
	n    int
}

func (d *deque) len() int { return d.n }

func (d *deque) grow() {
	if d.n < len(d.buf) {
		return
	}
	nb := make([]*job, max(16, 2*len(d.buf)))
	for i := range d.n {
		nb[i] = d.buf[(d.head+i)%len(d.buf)]
	}
	d.buf, d.head = nb, 0
}

func (d *deque) pushBack(j *job) {
	d.grow()
	d.buf[(d.head+d.n)%len(d.buf)] = j
	d.n++
}

func (d *deque) pushFront(j *job) {
	d.grow()
	d.head = (d.head - 1 + len(d.buf)) % len(d.buf)
	d.buf[d.head] = j
	d.n++
}

func (d *deque) popFront() *job {
	j := d.buf[d.head]
	d.buf[d.head] = nil
	d.head = (d.head + 1) % len(d.buf)
	d.n--
	if d.n == 0 {
		d.head = 0
		if len(d.buf) > 1024 {
			d.buf = nil // let a drained backlog's buffer go
		}
	}
	return j
}
