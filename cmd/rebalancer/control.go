package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func init() {
	register(target{name: "control", summary: "publish an operator command: kill, unkill, pause or resume", run: runControl})
}

// runControl publishes a ControlCommand on the stream. The executor honours it within a second and,
// because the command stays in the stream, after any restart.
func runControl(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("control", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	scope := fs.String("scope", events.ScopeAll, "all, or one venue (binance, hyperliquid)")
	reason := fs.String("reason", "", "why (required: it is read during incidents)")
	operator := fs.String("operator", currentUser(), "who is asking")
	natsURL := fs.String("nats", os.Getenv("NATS_URL"), "NATS URL (default $NATS_URL)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: rebalancer control kill|unkill|pause|resume --reason TEXT [--scope all|VENUE] [--operator NAME] [--nats URL]")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: control needs a verb", errUsage)
	}
	verb := events.Verb(args[0])
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	cmd := &events.ControlCommand{
		Meta:     events.NewMeta(events.TypeControlCommand, "ctl-"+time.Now().UTC().Format("20060102T150405Z")+"-"+hex.EncodeToString(id[:]), "", "operator", time.Now()),
		Verb:     verb,
		Scope:    *scope,
		Reason:   *reason,
		Operator: *operator,
	}
	if err := cmd.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if *natsURL == "" {
		return fmt.Errorf("%w: no NATS: pass --nats or set NATS_URL", errUsage)
	}
	cfg := bus.Config{URL: *natsURL, Name: "operator", CredsFile: os.Getenv("NATS_CREDS_FILE"), NKeyFile: os.Getenv("NATS_NKEY_FILE"),
		TLSCA: os.Getenv("NATS_TLS_CA"), TLSCert: os.Getenv("NATS_TLS_CERT"), TLSKey: os.Getenv("NATS_TLS_KEY")}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	b, err := bus.Connect(cctx, cfg, e.log, nil)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = b.Close(context.WithoutCancel(ctx)) }()
	res, err := b.Publish(cctx, cmd)
	if err != nil {
		return fmt.Errorf("publish %s: %w", verb, err)
	}
	fmt.Fprintf(e.stdout, "%s %s published (stream seq %d, id %s)\n", verb, *scope, res.Seq, cmd.ID)
	return nil
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return ""
}
