package planner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// loadConfig reads path, or returns the embedded devnet configuration when path is empty.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

func newFlags(name string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	return fs
}

// PlanCommand is `rebalancer plan --snapshot FILE [--config FILE] [--json]`: it folds the events
// in FILE (JSON lines, or one JSON array, of events as pkg/events writes them: snapshots, and
// optionally watermarks, intents and execution updates) in file order, then prints what the
// planner would decide for each configured account and why. No service is needed. Without
// --config it uses the embedded devnet configuration.
func PlanCommand(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("plan", stdout)
	snapPath := fs.String("snapshot", "", "file of events (JSON lines or a JSON array)")
	cfgPath := fs.String("config", "", "configuration file (default: the embedded devnet configuration)")
	asJSON := fs.Bool("json", false, "print the decisions as JSON")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if *snapPath == "" {
		return fmt.Errorf("%w: plan needs --snapshot FILE", ErrUsage)
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	pol, err := NewPolicy(cfg)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(*snapPath)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	evs, err := decodeEvents(raw)
	if err != nil {
		return fmt.Errorf("plan: %s: %w", *snapPath, err)
	}
	if len(evs) == 0 {
		return fmt.Errorf("plan: %s holds no events", *snapPath)
	}
	st := NewState()
	for i, ev := range evs {
		st.Apply(uint64(i+1), ev)
	}
	last := evs[len(evs)-1].EventMeta()
	basis := Basis{Seq: uint64(len(evs)), EventID: last.ID, At: last.ProducedAt}
	costs := NewStaticCosts(cfg)
	var out []Decision
	for _, acct := range cfg.Accounts {
		d := Plan(pol, costs, st, acct, basis)
		st.Decided(d.Intents)
		out = append(out, d)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		for _, d := range out {
			if err := enc.Encode(struct {
				Record  Record                    `json:"record"`
				Intents []*events.RebalanceIntent `json:"intents"`
			}{d.Record, d.Intents}); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(stdout, "config %s, %d events, stream time %s\n", pol.hash[:12], len(evs), st.Clock().Format(time.RFC3339))
	for _, d := range out {
		printDecision(stdout, pol, d)
	}
	return nil
}

// decodeEvents reads JSON lines or a JSON array of events.
func decodeEvents(raw []byte) ([]events.Event, error) {
	raw = bytes.TrimSpace(raw)
	var docs []json.RawMessage
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &docs); err != nil {
			return nil, err
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				docs = append(docs, json.RawMessage(bytes.Clone(line)))
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	evs := make([]events.Event, 0, len(docs))
	for i, d := range docs {
		ev, err := events.DecodeBody(d)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i+1, err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func printDecision(w io.Writer, pol *Policy, d Decision) {
	r := d.Record
	fmt.Fprintf(w, "\naccount %s: %s\n", r.Account, r.Reason)
	human := func(chain uint64, token string, a events.Amount) string {
		if n, ok := pol.node(chain, token); ok {
			return formatUnits(a.Big(), n.decimals) + " " + token
		}
		return a.String() + " " + token + " (base units)"
	}
	for _, x := range r.Excess {
		fmt.Fprintf(w, "  excess    %d/%s %s\n", x.Chain, x.Token, human(x.Chain, x.Token, x.Amount))
	}
	for _, x := range r.Deficit {
		fmt.Fprintf(w, "  deficit   %d/%s %s (tier %d)\n", x.Chain, x.Token, human(x.Chain, x.Token, x.Amount), x.Tier)
	}
	for _, s := range r.Excluded {
		fmt.Fprintf(w, "  excluded  %s\n", s)
	}
	for _, s := range r.Rejected {
		fmt.Fprintf(w, "  rejected  %s\n", s)
	}
	for _, in := range d.Intents {
		rt := in.Route
		fmt.Fprintf(w, "  intent    %s %d/%s→%d/%s: in %s, min out %s, max fee %s, cost ≈ %s, id %s\n    why: %s\n",
			in.Venue, rt.SrcChain, rt.SrcToken, rt.DstChain, rt.DstToken,
			human(rt.SrcChain, rt.SrcToken, in.AmountIn), human(rt.DstChain, rt.DstToken, in.MinAmountOut),
			human(rt.SrcChain, rt.SrcToken, in.MaxFee), human(rt.SrcChain, rt.SrcToken, in.Why.CostEstimate), in.ID, in.Why.Reason)
	}
	for _, s := range r.Unfilled {
		fmt.Fprintf(w, "  unfilled  %s\n", s)
	}
	if !r.Proven {
		fmt.Fprintf(w, "  note      plan is feasible but not proven optimal (%d search nodes)\n", r.Nodes)
	}
}

// formatUnits writes base units as a decimal with the token's decimals, trailing zeros trimmed;
// integer arithmetic only.
func formatUnits(x *big.Int, decimals uint8) string {
	s := new(big.Int).Abs(x).String()
	sign := ""
	if x.Sign() < 0 {
		sign = "-"
	}
	d := int(decimals)
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	whole, frac := s[:len(s)-d], strings.TrimRight(s[len(s)-d:], "0")
	if frac == "" {
		return sign + whole
	}
	return sign + whole + "." + frac
}

// ReplayCommand is `rebalancer replay --from-seq N --to-seq M [--config FILE] --out FILE [--diff]
// [--nats URL]`: it re-runs the planner over the stream (NATS_URL when --nats is not given) and
// writes the intents based on [N, M] as JSON lines. With --config it is a what-if run; --diff
// prints the decisions that differ from the intents the stream holds for that range. Replaying
// the same range twice writes byte-identical files.
func ReplayCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("replay", stdout)
	from := fs.Uint64("from-seq", 1, "first basis sequence to report")
	to := fs.Uint64("to-seq", 0, "last sequence to replay (0: the last stored)")
	cfgPath := fs.String("config", "", "configuration to decide with (default: the embedded devnet configuration)")
	outPath := fs.String("out", "", "file to write the intents to (JSON lines)")
	diff := fs.Bool("diff", false, "print the decisions that differ from the stream's")
	natsURL := fs.String("nats", os.Getenv("NATS_URL"), "NATS URL (default $NATS_URL)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if *outPath == "" {
		return fmt.Errorf("%w: replay needs --out FILE", ErrUsage)
	}
	if *to != 0 && *to < *from {
		return fmt.Errorf("%w: --to-seq %d is before --from-seq %d", ErrUsage, *to, *from)
	}
	if *natsURL == "" {
		return fmt.Errorf("%w: no NATS: pass --nats URL or set NATS_URL", ErrUsage)
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	b, err := bus.Connect(ctx, bus.Config{URL: *natsURL, Name: "planner-replay"}, zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.Close(cctx)
	}()
	return replayTo(ctx, b, cfg, *from, *to, *outPath, *diff, stdout)
}

func replayTo(ctx context.Context, rr RangeReader, cfg *config.Config, from, to uint64, outPath string, diff bool, stdout io.Writer) error {
	pol, err := NewPolicy(cfg)
	if err != nil {
		return err
	}
	res, err := Replay(ctx, rr, pol, nil, from, to)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := WriteIntents(&buf, res.Intents); err != nil {
		return err
	}
	if err := os.WriteFile(outPath, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	fmt.Fprintf(stdout, "replayed %d events with config %s: %d intents written to %s (stream holds %d for the range)\n",
		res.Events, pol.hash[:12], len(res.Intents), outPath, len(res.Original))
	if res.Unproven > 0 {
		fmt.Fprintf(stdout, "%d decisions not proven optimal\n", res.Unproven)
	}
	if diff {
		lines := Diff(res.Original, res.Intents)
		if len(lines) == 0 {
			fmt.Fprintln(stdout, "no difference")
		}
		for _, l := range lines {
			fmt.Fprintln(stdout, l)
		}
	}
	return nil
}
