package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/api"
	"github.com/herald-sms/herald/internal/carrier"
	"github.com/herald-sms/herald/internal/cluster"
	"github.com/herald-sms/herald/internal/dispatch"
	"github.com/herald-sms/herald/internal/fraud"
	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/inbound"
	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/routing"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smppserver"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/verify"
	"github.com/herald-sms/herald/internal/webhook"
)

// runServe is `herald serve`.
func (m *Main) runServe(ctx context.Context, args []string) error {
	cfg, err := m.serveConfig(args, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(m.Stderr, cfg.LogLevel)
	tuneGC(os.Getenv)
	rctx, stopReload := context.WithCancel(ctx)
	var reloads sync.WaitGroup
	defer func() { stopReload(); reloads.Wait() }()
	return RunPlatform(ctx, cfg, log, func(p *Platform) {
		fmt.Fprintf(m.Stdout, "herald %s serving the API on http://%s (store: %s)\n", version, p.HTTPAddr, describeStore(cfg.Store, cfg.Data))
		if p.SMPPAddr != "" {
			fmt.Fprintf(m.Stdout, "SMPP server for client applications on %s\n", p.SMPPAddr)
		}
		for _, l := range p.carriers {
			fmt.Fprintf(m.Stdout, "carrier %s\n", l)
		}
		reloads.Go(func() { m.reloadOnHangup(rctx, p, args, log) })
	})
}

func newLogger(w interface{ Write([]byte) (int, error) }, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv}))
}

// serveConfig builds the configuration: defaults, file, environment, flags.
func (m *Main) serveConfig(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	configPath := fs.String("config", getenv("HERALD_CONFIG"), "configuration file (JSON; see docs/configuration.md)")
	data := fs.String("data", "", "data directory (default ./herald-data; env HERALD_DATA)")
	storeURL := fs.String("store", "", "PostgreSQL URL postgres://USER:PASSWORD@HOST:PORT/DB (env HERALD_STORE); default: SQLite in --data")
	httpAddr := fs.String("http", "", "API listen address (default 127.0.0.1:8080; env HERALD_HTTP)")
	node := fs.String("node", "", "this node's id in a cluster on PostgreSQL (default: host name and API port; env HERALD_NODE)")
	var carriers []string
	fs.Func("carrier", "SMPP carrier URL, repeatable: smpp://SYSTEM_ID:PASSWORD@HOST:PORT?binds=2&window=100&tps=500", func(s string) error {
		carriers = append(carriers, s)
		return nil
	})
	sim := fs.String("simulator", "", "built-in SMSC simulator: on, off (default: on when no carrier is given)")
	region := fs.String("default-region", "", "country (ISO 3166) for national numbers; env HERALD_DEFAULT_REGION")
	smppAddr := fs.String("smpp", "", "SMPP server listen address for client applications, e.g. 127.0.0.1:2775 (default off; env HERALD_SMPP)")
	loopback := fs.Bool("webhook-allow-loopback", false, "allow webhooks to 127.0.0.1/localhost (development only)")
	if err := fs.Parse(args); err != nil {
		return Config{}, errUsage
	}
	cfg := defaultConfig()
	if *configPath != "" {
		if err := loadConfigFile(&cfg, *configPath); err != nil {
			return cfg, err
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, err
	}
	if *data != "" {
		cfg.Data = *data
	}
	if *storeURL != "" {
		cfg.Store = *storeURL
	}
	if *httpAddr != "" {
		cfg.HTTP = *httpAddr
	}
	if *node != "" {
		cfg.Node = *node
	}
	if *region != "" {
		cfg.DefaultRegion = *region
	}
	if *loopback {
		cfg.WebhookAllowLoopback = true
	}
	if *smppAddr != "" {
		cfg.SMPP = *smppAddr
	}
	for _, u := range carriers {
		cc, err := parseCarrierURL(u)
		if err != nil {
			return cfg, err
		}
		cfg.Carriers = append(cfg.Carriers, cc)
	}
	switch *sim {
	case "":
	case "on", "true":
		t := true
		cfg.Simulator.Enabled = &t
	case "off", "false":
		f := false
		cfg.Simulator.Enabled = &f
	default:
		return cfg, fmt.Errorf("serve: --simulator: %q is not on or off", *sim)
	}
	return cfg, cfg.validate()
}

// Platform is a running Herald: store, simulator, carrier links,
// dispatcher, webhook worker and HTTP API.
type Platform struct {
	HTTPAddr string // where the API listens
	SimAddr  string // the built-in simulator's SMPP address, when on
	SMPPAddr string // the SMPP server's address, when on

	SMPPServer *smppserver.Server // nil when off

	Store      store.Store
	Simulator  *smscsim.Simulator
	Dispatcher *dispatch.Dispatcher
	Webhooks   *webhook.Worker
	Inbound    *inbound.Service
	Cluster    *cluster.Manager // nil unless in cluster mode
	carriers   []string         // descriptions for the start-up banner (passwords redacted)
	reload     *reloader
	reloadReq  chan struct{} // a reload asked for through the admin API
}

// RunPlatform starts Herald with cfg, calls ready once the API listens,
// and runs until ctx ends; then it shuts down in order (API, dispatcher
// and links, webhooks, simulator, store) and returns.
func RunPlatform(ctx context.Context, cfg Config, log *slog.Logger, ready func(*Platform)) error {
	p := &Platform{reloadReq: make(chan struct{}, 1)}
	if isPostgres(cfg.Store) && cfg.Node == "" {
		cfg.Node = defaultNode(cfg.HTTP)
	}
	st, err := openNodeStore(ctx, cfg.Store, cfg.Data, cfg.Node, log)
	if err != nil {
		return fmt.Errorf("serve: store %s: %w", describeStore(cfg.Store, cfg.Data), err)
	}
	p.Store = st
	defer st.Close()

	useSim := len(cfg.Carriers) == 0
	if cfg.Simulator.Enabled != nil {
		useSim = *cfg.Simulator.Enabled
	}
	if !useSim && len(cfg.Carriers) == 0 {
		return errors.New("serve: no carrier: give --carrier or leave the simulator on")
	}
	stopSim := func() {}
	if useSim {
		delay, err := smscsim.ParseDelay(cfg.Simulator.ReceiptDelay)
		if err != nil {
			return fmt.Errorf("config: simulator.receipt_delay: %w", err)
		}
		sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0", ReceiptDelay: delay, Undeliv: cfg.Simulator.Undeliv, Logger: log.With("component", "simulator")})
		if err != nil {
			return err
		}
		if err := sim.Start(ctx); err != nil {
			return err
		}
		p.Simulator, p.SimAddr = sim, sim.Addr()
		stopSim = func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			sim.Shutdown(sctx)
		}
		host, port, _ := net.SplitHostPort(sim.Addr())
		n, _ := strconv.Atoi(port)
		cfg.Carriers = append([]CarrierConfig{{Name: "simulator", Host: host, Port: n, SystemID: "herald", Password: "simulator",
			Binds: max(cfg.Simulator.Binds, 1), Window: max(cfg.Simulator.Window, 1)}}, cfg.Carriers...)
	}
	defer stopSim()

	// Claims are served by the same group-committing writer as the
	// dispatch work, so each claim takes many deliveries: the worker holds
	// up to 1,000 at once, 16 in flight per host.
	// onReply sends applications' answers to message.received; it is set
	// once the intake exists, before the worker runs.
	var onReply func(context.Context, *herald.Delivery, string)
	hooks, err := webhook.NewWorker(st, webhook.Options{AllowLoopback: cfg.WebhookAllowLoopback, Concurrency: 1000, PerHost: 16,
		Logger:  log.With("component", "webhooks"),
		OnReply: func(ctx context.Context, d *herald.Delivery, reply string) { onReply(ctx, d, reply) }})
	if err != nil {
		return err
	}
	p.Webhooks = hooks
	// wake tells the webhook worker and the SMPP server that the store
	// has new events (their outboxes may have new rows).
	var smppWake func()
	wake := func() {
		hooks.Wake()
		if smppWake != nil {
			smppWake()
		}
	}
	receipts := &receiptSink{st: st, wake: wake}

	// Cluster mode: the carriers' binds are leased across the nodes
	// (the built-in simulator is each node's own, not leased).
	var mgr *cluster.Manager
	var binds map[string]int // the leased carriers' binds
	clusterStore, _ := st.(store.Cluster)
	if clusterStore != nil && clusterStore.Node() != "" {
		binds = map[string]int{}
		for _, cc := range cfg.Carriers {
			if !(useSim && cc.Name == "simulator") {
				binds[cc.Name] = max(cc.Binds, 1)
			}
		}
		mgr = cluster.New(cluster.Options{Store: clusterStore, Carriers: binds, TTL: time.Duration(cfg.Cluster.LeaseTTL),
			Addr: cfg.HTTP, Version: version, Logger: log.With("component", "cluster")})
		clusterStore.SetDispatching(func(c string) bool { _, leased := binds[c]; return !leased || mgr.Dispatching(c) })
		// Alive before serving: a restarted node's new work must not be
		// taken for a dead node's.
		if err := clusterStore.Heartbeat(ctx, cfg.HTTP, version); err != nil {
			return err
		}
		log.Info("cluster mode", "node", clusterStore.Node())
	}
	var links []dispatch.Link
	var names []string
	routes := map[string]intake.Route{}
	health := routing.NewHealth(cfg.Routing.health())
	for _, cc := range cfg.Carriers {
		role, _ := cc.role()
		text, _ := cc.textOptions()
		idf, _ := parseIDFormat(cc.IDFormat)
		ridf, _ := parseIDFormat(cc.ReceiptIDFormat)
		c := carrier.Config{Name: cc.Name, Addr: net.JoinHostPort(cc.Host, strconv.Itoa(cc.Port)), SystemID: cc.SystemID,
			Password: cc.Password, SystemType: cc.SystemType, Role: role, Binds: cc.Binds, Window: cc.Window, TPS: cc.TPS,
			SourceTON: -1, SourceNPI: -1, SubmitIDFormat: idf, ReceiptIDFormat: ridf,
			ResponseTimeout: time.Duration(cc.ResponseTimeout), EnquireLinkInterval: time.Duration(cc.EnquireLinkInterval),
			BindTPS: cc.BindTPS, ThrottlePause: time.Duration(cc.ThrottlePause), MaxThrottlePause: time.Duration(cc.MaxThrottlePause),
			OnReceipt: func(to herald.Status, lat time.Duration) {
				health.Receipt(cc.Name, to == herald.StatusDelivered, lat, time.Now())
			}}
		if c.RerouteOn, err = cc.rerouteOn(); err != nil {
			return err
		}
		if cc.SourceTON != nil && cc.SourceNPI != nil {
			c.SourceTON, c.SourceNPI = *cc.SourceTON, *cc.SourceNPI
		}
		if cc.DestTON != nil && cc.DestNPI != nil {
			c.DestTON, c.DestNPI = uint8(*cc.DestTON), uint8(*cc.DestNPI)
		}
		if _, leased := binds[cc.Name]; leased {
			c.Slots = mgr
		}
		links = append(links, carrier.New(c, receipts, log))
		names = append(names, cc.Name)
		routes[cc.Name] = intake.Route{Carrier: cc.Name, Text: text}
		p.carriers = append(p.carriers, fmt.Sprintf("%s smpp://%s@%s binds=%d window=%d tps=%g", cc.Name, cc.SystemID, c.Addr, max(cc.Binds, 1), max(cc.Window, 10), cc.TPS))
	}
	defaultRoute := routes[cfg.Carriers[0].Name]
	table, err := routingTable(cfg.Routes, names)
	if err != nil {
		return err
	}
	router := routing.NewRouter(table, health)
	limits, err := cfg.Routing.limits()
	if err != nil {
		return err
	}
	// Intake encodes for the route's first carrier; the dispatcher
	// decides the carrier when the message is due.
	pick := func(m *herald.Message) (intake.Route, error) {
		return routes[router.Primary(m, defaultRoute.Carrier)], nil
	}
	p.reload = &reloader{links: map[string]*carrier.Link{}, router: router, names: names, log: log}
	for _, l := range links {
		p.reload.links[l.Name()] = l.(*carrier.Link)
	}

	// Unsent one-time-code messages cannot be recovered (their code is
	// not stored): verify.Recovering fails them at start-up.
	dopts := dispatch.Options{Store: verify.Recovering{DispatchStore: st}, Links: links, ReceiptWindow: time.Duration(cfg.ReceiptWindow),
		Router: router, DownAfter: time.Duration(cfg.Routing.DownAfter), Limits: limits,
		Changed: wake, Logger: log.With("component", "dispatch")}
	if mgr != nil {
		dopts.Cluster, dopts.Leader = clusterStore, mgr.Leader
	}
	disp := dispatch.New(dopts)
	p.Dispatcher, p.Cluster = disp, mgr
	var guard *fraud.Guard
	var guardCheck func(context.Context, *herald.Message) error
	var guardRefund func([]*herald.Message)
	if !cfg.Fraud.Disabled {
		policy, err := cfg.Fraud.policy(cfg.DefaultRegion)
		if err != nil {
			return err
		}
		guard = fraud.New(policy, st, nil, log.With("component", "fraud"))
		if err := guard.Load(ctx); err != nil {
			return err
		}
		guardCheck, guardRefund = guard.Check, guard.Refund
	}
	in := intake.New(intake.Options{
		Guard: guardCheck, Refund: guardRefund,
		Store: st, DefaultRegion: cfg.DefaultRegion, DefaultFrom: cfg.DefaultFrom, MaxParts: cfg.MaxParts,
		Route:    pick,
		CheckURL: func(raw string) error { return webhook.CheckURL(raw, cfg.WebhookAllowLoopback) },
		Consent:  st,
		Accepted: disp.Accepted,
		Logger:   log,
	})
	receipts.mo = newInbound(cfg, st, in, disp.Accepted, func([]*herald.InboundMessage) { wake() }, log.With("component", "inbound"))
	p.Inbound = receipts.mo
	onReply = webhookReply(in, log.With("component", "inbound"))
	verifyKey, err := verify.LoadKey(cfg.VerifyKey, cfg.Data)
	if err != nil {
		return err
	}
	if isPostgres(cfg.Store) && cfg.VerifyKey == "" {
		// Codes are hashed with this key: a node with another key cannot
		// check the codes another node sent.
		log.Warn("the verify key is read from this node's data directory; with several nodes on one PostgreSQL database, give every node the same verify_key (HERALD_VERIFY_KEY)",
			"file", filepath.Join(cfg.Data, verify.KeyFile))
	}
	vopts := verify.Options{Store: st, Intake: in, Key: verifyKey}
	aopts := api.Options{Intake: in, Store: st, TwoWay: st, SMPPUsers: st, AllowLoopback: cfg.WebhookAllowLoopback, Logger: log.With("component", "api")}
	if guard != nil {
		vopts.Approved, aopts.Fraud = guard.Approved, guard
	}
	verifier, err := verify.New(vopts)
	if err != nil {
		return err
	}
	aopts.Verify = verifier
	apiSrv, err := api.New(aopts)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("serve: listen %s: %w", cfg.HTTP, err)
	}
	p.HTTPAddr = ln.Addr().String()
	httpSrv := &http.Server{Handler: withAdmin(apiSrv, cfg.AdminToken, p, disp, health),
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	smppSrv, smppLn, err := startSMPPServer(cfg, st, in, log)
	if err != nil {
		ln.Close()
		return err
	}
	if smppSrv != nil {
		p.SMPPServer, p.SMPPAddr, smppWake = smppSrv, smppLn.Addr().String(), smppSrv.Wake
	}

	// Each part gets its own context so that the shutdown runs in order.
	base := context.WithoutCancel(ctx)
	dispCtx, stopDisp := context.WithCancel(base)
	hookCtx, stopHooks := context.WithCancel(base)
	var dispWG, wg sync.WaitGroup
	errs := make(chan error, 8) // room for every goroutine below, so none blocks on a second failure
	dispWG.Go(func() {
		if err := disp.Run(dispCtx); err != nil && !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("dispatcher: %w", err)
		}
	})
	// The cluster manager outlives the dispatcher: its links give their
	// bind slots back as they unbind.
	clusterCtx, stopCluster := context.WithCancel(base)
	var clusterWG sync.WaitGroup
	if mgr != nil {
		clusterWG.Go(func() { mgr.Run(clusterCtx) })
	}
	defer func() {
		stopCluster()
		clusterWG.Wait()
	}()
	wg.Go(func() {
		if err := receipts.mo.Run(hookCtx); err != nil && !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("inbound: %w", err)
		}
	})
	wg.Go(func() {
		if err := hooks.Run(hookCtx); err != nil && !errors.Is(err, context.Canceled) {
			errs <- fmt.Errorf("webhooks: %w", err)
		}
	})
	wg.Go(func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http: %w", err)
		}
	})
	if guard != nil {
		// Ends the fraud blocks whose time is over (fraud.unblocked events).
		wg.Go(func() { guard.Run(hookCtx, 30*time.Second) })
	}
	if smppSrv != nil {
		wg.Go(func() {
			if err := smppSrv.Serve(smppLn); err != nil && !errors.Is(err, smpp.ErrServerClosed) {
				errs <- fmt.Errorf("smpp server: %w", err)
			}
		})
	}
	// Idempotency keys are kept for 48 hours (the promise is at least 24).
	wg.Go(func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if n, err := st.PurgeIdempotencyKeys(hookCtx, time.Now().Add(-48*time.Hour)); err != nil {
				log.Warn("purging idempotency keys failed", "err", err)
			} else if n > 0 {
				log.Info("purged idempotency keys", "keys", n)
			}
			if n, err := st.PurgeVerifications(hookCtx, time.Now().Add(-24*time.Hour)); err != nil {
				log.Warn("purging verifications failed", "err", err)
			} else if n > 0 {
				log.Info("purged verification records", "rows", n)
			}
			select {
			case <-t.C:
			case <-hookCtx.Done():
				return
			}
		}
	})
	log.Info("herald started", "http", p.HTTPAddr, "store", describeStore(cfg.Store, cfg.Data), "carriers", len(links), "simulator", useSim)
	if ready != nil {
		ready(p)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
		log.Error("herald stopping after a failure", "err", runErr)
	}
	sctx, cancel := context.WithTimeout(base, 30*time.Second)
	defer cancel()
	httpSrv.Shutdown(sctx)
	if smppSrv != nil {
		// Clients are unbound before the dispatcher stops; the receipts
		// they have not acknowledged stay in the outbox.
		smppSrv.Shutdown(sctx)
	}
	stopDisp()
	// The dispatcher returns once its links have unbound and every
	// outcome is recorded; webhooks go on until then.
	dispWG.Wait()
	stopHooks()
	wg.Wait()
	log.Info("herald stopped")
	return runErr
}

// receiptSink stores receipts and inbound messages, and wakes the
// webhook worker.
type receiptSink struct {
	st   store.Store
	wake func()
	mo   *inbound.Service // set before the links run
}

func (r *receiptSink) ApplyReceipts(ctx context.Context, rs []store.Receipt) error {
	err := r.st.ApplyReceipts(ctx, rs)
	if err == nil {
		r.wake()
	}
	return err
}
