package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/herald-sms/herald/internal/intake"
	"github.com/herald-sms/herald/internal/smppserver"
	"github.com/herald-sms/herald/internal/store"
)

// startSMPPServer listens on cfg.SMPP and returns the SMPP server for
// client applications, or nil when it is off.
func startSMPPServer(cfg Config, st store.Store, in *intake.Service, log *slog.Logger) (*smppserver.Server, net.Listener, error) {
	if cfg.SMPP == "" {
		return nil, nil, nil
	}
	ln, err := net.Listen("tcp", cfg.SMPP)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: smpp listen %s: %w", cfg.SMPP, err)
	}
	o := smppserver.Options{Store: st, Intake: in, Logger: log.With("component", "smpp_server")}
	if cs, ok := st.(store.Cluster); ok && cs.Node() != "" {
		o.Leases = cs
	}
	srv := smppserver.New(o)
	return srv, ln, nil
}
