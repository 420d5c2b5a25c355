package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/herald-sms/herald/internal/admin"
	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/cluster"
	"github.com/herald-sms/herald/internal/dispatch"
	"github.com/herald-sms/herald/internal/routing"
	"github.com/herald-sms/herald/internal/store"
)

// reloader applies the parts of a new configuration that can change
// while Herald runs: each carrier's tps, and the routing table. Binds
// are not touched. Adding or removing carriers, or changing their
// addresses, credentials, binds or windows, needs a restart.
type reloader struct {
	links  map[string]*carrier.Link
	router *routing.Router
	names  []string
	log    *slog.Logger
}

// Reload applies cfg's reloadable parts. A bad table is refused whole
// and nothing changes.
func (p *Platform) Reload(cfg Config) error {
	r := p.reload
	table, err := routingTable(cfg.Routes, r.names)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	for _, cc := range cfg.Carriers {
		if l := r.links[cc.Name]; l != nil {
			if old := l.Flow().TPS; old != cc.TPS {
				l.SetTPS(cc.TPS)
				r.log.Info("reload: carrier rate changed", "carrier", cc.Name, "tps_before", old, "tps", cc.TPS)
			}
		} else if cc.Name != "" {
			r.log.Warn("reload: new carriers need a restart", "carrier", cc.Name)
		}
	}
	r.router.SetTable(table)
	r.log.Info("reload: routing table replaced", "routes", len(cfg.Routes))
	return nil
}

// reloadOnHangup reloads the configuration (file, environment, flags)
// on every SIGHUP, and every POST /v1/admin/reload, until ctx ends.
func (m *Main) reloadOnHangup(ctx context.Context, p *Platform, args []string, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
		case <-p.reloadReq:
		case <-ctx.Done():
			return
		}
		cfg, err := m.serveConfig(args, os.Getenv)
		if err == nil {
			err = p.Reload(withSimulator(cfg, p))
		}
		if err != nil {
			log.Error("reload refused; the running configuration stays", "err", err)
		}
	}
}

// withSimulator adds the built-in simulator carrier to a reloaded
// configuration the way RunPlatform did at start.
func withSimulator(cfg Config, p *Platform) Config {
	if p.Simulator != nil {
		cfg.Carriers = append([]CarrierConfig{{Name: "simulator"}}, cfg.Carriers...)
	}
	return cfg
}

// withAdmin serves the operator endpoints next to the API when a token
// is configured.
func withAdmin(apiSrv http.Handler, token string, p *Platform, disp *dispatch.Dispatcher, health *routing.Health) http.Handler {
	if token == "" {
		return apiSrv
	}
	aopts := admin.Options{Token: token,
		Carriers: func() any { return p.carrierStates(disp, health) },
		Reload: func() {
			select {
			case p.reloadReq <- struct{}{}:
			default: // one is pending already
			}
		}}
	if p.Cluster != nil {
		aopts.Cluster = p.clusterState
	}
	adm := admin.Handler(aopts)
	mux := http.NewServeMux()
	mux.Handle("/v1/carriers", adm)
	mux.Handle("/v1/cluster", adm)
	mux.Handle("/v1/admin/", adm)
	mux.Handle("/", apiSrv)
	return mux
}

// carrierState is one carrier in GET /v1/carriers.
type carrierState struct {
	Name         string                `json:"name"`
	Up           bool                  `json:"up"`
	Binds        []carrier.BindStats   `json:"binds"`
	TPS          float64               `json:"tps"`           // configured, 0 unlimited
	EffectiveTPS float64               `json:"effective_tps"` // after adapting to throttling
	PausedUntil  *time.Time            `json:"paused_until,omitempty"`
	Throttles    uint64                `json:"throttle_episodes"`
	Submitted    uint64                `json:"submitted"`
	Throttled    uint64                `json:"throttled"`
	Queue        map[string]int        `json:"queue"` // waiting parts by class
	Health       routing.CarrierHealth `json:"health"`
}

func (p *Platform) carrierStates(disp *dispatch.Dispatcher, health *routing.Health) []carrierState {
	now := time.Now()
	var out []carrierState
	for _, name := range p.reload.names {
		l := p.reload.links[name]
		st := l.Stats()
		depth := disp.Depth(name)
		cs := carrierState{Name: name, Up: disp.Up(name), Binds: l.Binds(), TPS: st.Flow.TPS, EffectiveTPS: st.Flow.EffectiveTPS,
			Throttles: st.Flow.Throttles, Submitted: st.Submitted, Throttled: st.Throttled,
			Queue:  map[string]int{"otp": depth[0], "transactional": depth[1], "marketing": depth[2]},
			Health: health.Snapshot(name, now)}
		if !st.Flow.PausedUntil.IsZero() {
			t := st.Flow.PausedUntil.UTC()
			cs.PausedUntil = &t
		}
		out = append(out, cs)
	}
	return out
}

// clusterView is GET /v1/cluster: the nodes sharing the database, which
// are alive, and the leases (bind slots, leadership) each holds.
type clusterView struct {
	Clustered bool         `json:"clustered"`
	Node      string       `json:"node"`   // the node that answered
	Leader    string       `json:"leader"` // "" when no node holds the lease
	TTL       string       `json:"lease_ttl"`
	Nodes     []store.Node `json:"nodes"`
}

func (p *Platform) clusterState(ctx context.Context) (any, error) {
	cs := p.Store.(store.Cluster)
	ttl := p.Cluster.TTL()
	nodes, err := cs.Nodes(ctx, ttl)
	if err != nil {
		return nil, err
	}
	v := clusterView{Clustered: true, Node: cs.Node(), TTL: ttl.String(), Nodes: nodes}
	if ls, err := cs.Leases(ctx, cluster.LeaderLease); err == nil {
		for _, l := range ls {
			if l.Name == cluster.LeaderLease {
				v.Leader = l.Node
			}
		}
	}
	return v, nil
}
