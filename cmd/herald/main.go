// Command herald is Herald's one binary. It is wiring only: each
// subcommand parses its flags into the configuration of an internal
// package, starts it and stops it.
//
//	herald version
//	herald smsc-sim [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// version is the release, set at build time with
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/herald
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	os.Exit(m.exitCode(err))
}

// Main is the program, built so that tests can run any subcommand in
// process with their own output streams.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
}

// NewMain returns a Main writing to the process's stdout and stderr.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr}
}

// errUsage is returned for a command line that cannot be run; the usage
// has been printed and the exit status is 2.
var errUsage = errors.New("usage")

// Run runs the subcommand named by args[0] until it ends or ctx ends.
// Each subcommand is one case here.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		m.usage()
		return errUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "version":
		return m.runVersion(rest)
	case "smsc-sim":
		return m.runSMSCSim(ctx, rest)
	case "serve":
		return m.runServe(ctx, rest)
	case "keys":
		return m.runKeys(ctx, rest)
	case "migrate":
		return m.runMigrate(ctx, rest)
	case "send":
		return m.runSend(ctx, rest)
	case "smpp-users":
		return m.runSMPPUsers(ctx, rest)
	case "bench":
		return m.runBench(ctx, rest)
	case "help", "-h", "-help", "--help":
		m.usage()
		return errUsage
	default:
		fmt.Fprintf(m.Stderr, "herald: unknown command %q\n\n", name)
		m.usage()
		return errUsage
	}
}

func (m *Main) usage() {
	fmt.Fprint(m.Stderr, `Usage: herald <command> [flags]

Commands:
  serve      run Herald: the HTTP API, the carrier links and the webhooks
  keys       create an API key (herald keys create)
  migrate    apply the store's schema migrations (SQLite or PostgreSQL)
  smpp-users create, list or delete SMPP client credentials
  send       send one message through a running server
  bench      drive a running server with load and print the latencies
  smsc-sim   run an SMSC simulator (SMPP server with receipts, errors and MO)
  version    print the version

Run "herald <command> -h" for a command's flags.
`)
}

// exitCode prints err when it has not been reported yet and returns the
// process exit status: 0, 2 for usage errors, 1 otherwise.
func (m *Main) exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	}
	fmt.Fprintf(m.Stderr, "herald: %v\n", err)
	return 1
}

func (m *Main) runVersion(args []string) error {
	fs := m.flagSet("version", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "herald %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// flagSet returns a FlagSet for a subcommand that reports errors and
// usage on m.Stderr.
func (m *Main) flagSet(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: herald %s %s\n", name, args)
		if hasFlags(fs) {
			fmt.Fprintln(m.Stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseFlags parses args into fs. The flag package has already printed
// a bad flag and the usage, so any failure is errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return usageErrorf(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// usageErrorf reports a bad flag value with the subcommand's usage.
func usageErrorf(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "herald %s: "+format+"\n\n", append([]any{fs.Name()}, args...)...)
	fs.Usage()
	return errUsage
}
