package dispatch

import (
	"context"
	"slices"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// claimBatch is the most messages claimed with one statement.
const claimBatch = 500

// claimPoll is how often a node looks for due unowned messages without a
// notification: scheduled messages become due without one.
const claimPoll = time.Second

// claim takes due messages that no node owns, for the carriers this
// node has a bind to, whenever the store signals new work or claimPoll
// passes, keeping at most Options.Claim parts queued here.
func (d *Dispatcher) claim(ctx context.Context) {
	t := time.NewTicker(claimPoll)
	defer t.Stop()
	for {
		for {
			n, ok := d.claimOnce(ctx)
			if !ok || n < claimBatch {
				break
			}
		}
		select {
		case <-d.o.Cluster.Work():
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// claimOnce claims one batch; ok is false when there is no room or no
// carrier to claim for, or the claim failed.
func (d *Dispatcher) claimOnce(ctx context.Context) (int, bool) {
	var carriers []string
	queued := 0
	for _, ln := range d.order {
		for _, n := range ln.depth() {
			queued += n
		}
		if u, ok := ln.link.(upper); ok && !u.Up() {
			continue
		}
		carriers = append(carriers, ln.link.Name())
	}
	room := min(d.o.Claim-queued, claimBatch)
	if room <= 0 || len(carriers) == 0 {
		return 0, false
	}
	ms, err := d.o.Cluster.Claim(ctx, carriers, room, time.Now().UTC())
	if err != nil {
		if ctx.Err() == nil {
			d.o.Logger.Error("claiming messages failed", "err", err)
		}
		return 0, false
	}
	now := time.Now()
	for _, m := range ms {
		d.enqueue(m, now)
	}
	return len(ms), true
}

// giveBack hands the cluster the messages queued on a link that has no
// bind on this node (its slots are held by other nodes, or the carrier
// is down): a node with a bind claims them. A message with a part
// being sent stays here until that submit is answered.
func (d *Dispatcher) giveBack(ctx context.Context, ln *lane) {
	ln.abort()
	jobs := ln.drain()
	if len(jobs) == 0 {
		return
	}
	var ids []string
	var keep []*job
	seen := map[string]bool{}
	for _, j := range jobs {
		if j.m.Ephemeral {
			keep = append(keep, j) // only this node can send it
			continue
		}
		if !seen[j.m.ID] {
			seen[j.m.ID] = true
			ids = append(ids, j.m.ID)
		}
	}
	retry := time.Now().Add(d.o.DownAfter)
	for _, j := range keep {
		d.sched.add(retry, j)
	}
	if len(ids) == 0 {
		return
	}
	jobs = slices.DeleteFunc(jobs, func(j *job) bool { return j.m.Ephemeral })
	n, err := d.o.Cluster.Release(ctx, ids)
	if err != nil || n < len(ids) {
		// Some could not be given back (a part in flight, or the store
		// failed): those wait here. The fence in the store stops this
		// node from sending a message it gave back, so trying again
		// later for all is safe.
		if err != nil {
			d.o.Logger.Error("giving messages back to the cluster failed", "carrier", ln.link.Name(), "err", err)
		}
		for _, j := range jobs {
			d.sched.add(retry, j)
		}
		return
	}
	d.o.Logger.Info("no bind to this carrier on this node: messages given back to the cluster",
		"carrier", ln.link.Name(), "messages", n)
	d.stats.GivenBack.Add(uint64(n))
}

// owned reports whether a message may be sent by this node.
func (d *Dispatcher) owned(m *herald.Message) bool {
	return d.o.Cluster == nil || m.Owner == d.o.Cluster.Node() || m.Ephemeral
}
