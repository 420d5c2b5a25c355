package carrier_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/smscsim"
)

// grantAll is a carrier.Slots that grants every slot at once and never
// asks for one back, as a cluster Manager that outlives the link does.
type grantAll struct {
	ctx      context.Context
	released atomic.Int32
}

func (g *grantAll) Hold(ctx context.Context, _ string, _ int) (context.Context, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return g.ctx, func() { g.released.Add(1) }, nil
}

// TestSlotsLinkStops: a link whose binds run on cluster slots unbinds,
// gives the slots back and returns when its own context ends, though
// the slots were not asked back (the node's cluster Manager stops after
// its links, so that they can give their slots back).
func TestSlotsLinkStops(t *testing.T) {
	t.Parallel()
	sim := startSim(t, smscsim.Options{})
	slotsCtx, stopSlots := context.WithCancel(context.Background())
	defer stopSlots()
	slots := &grantAll{ctx: slotsCtx}
	const binds = 2
	link := carrier.New(carrier.Config{Name: "sim", Addr: sim.Addr(), SystemID: "t", Binds: binds, Window: 10,
		SourceTON: -1, SourceNPI: -1, Slots: slots}, discardReceipts{}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { link.Run(ctx) })
	defer func() { stopSlots(); wg.Wait() }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(10 * time.Second); link.Stats().Bound < binds; <-tick.C {
		if time.Now().After(deadline) {
			t.Fatal("not bound within 10s")
		}
	}
	cancel()
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return within 10s of its context's end (%d bound)", link.Stats().Bound)
	}
	if n := slots.released.Load(); n != binds {
		t.Fatalf("%d slots given back, want %d", n, binds)
	}
}
