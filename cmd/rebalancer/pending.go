package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

func init() {
	register(target{name: "pending", summary: "print an account's pending ledger as the inventory client sees it", run: runPending})
}

func runPending(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("pending", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	account := fs.String("account", "", "the relayer's account address (required)")
	blocksArg := fs.String("blocks", "", "the reader's balance blocks, chain=block,... (default: each chain's asOf)")
	redisURL := fs.String("redis", os.Getenv("REDIS_URL"), "Redis URL (default $REDIS_URL)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	legs := fs.Bool("legs", false, "also print the raw legs")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: rebalancer pending --account 0x... [--blocks chain=block,...] [--redis URL] [--json] [--legs]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *account == "" {
		fs.Usage()
		return fmt.Errorf("%w: --account is required", errUsage)
	}
	if *redisURL == "" {
		return fmt.Errorf("%w: no Redis: pass --redis or set REDIS_URL", errUsage)
	}
	blocks, err := parseBlocks(*blocksArg)
	if err != nil {
		return fmt.Errorf("%w: --blocks: %w", errUsage, err)
	}
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		return fmt.Errorf("%w: --redis: %w", errUsage, err)
	}
	client := redis.NewClient(opt)
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	view, err := pending.NewReader(client).Read(ctx, *account, blocks)
	if err != nil {
		return fmt.Errorf("read ledger of %s: %w", *account, err)
	}
	if *asJSON {
		return printPendingJSON(e.stdout, view, *legs)
	}
	return printPending(e.stdout, view, *legs)
}

// parseBlocks reads "1=100,42161=2000".
func parseBlocks(s string) (map[uint64]uint64, error) {
	out := map[uint64]uint64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%q: want chain=block", part)
		}
		chain, err := strconv.ParseUint(k, 10, 64)
		if err != nil || chain == 0 {
			return nil, fmt.Errorf("%q: chain id must be a positive integer", part)
		}
		block, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: block must be a non-negative integer", part)
		}
		if _, dup := out[chain]; dup {
			return nil, fmt.Errorf("chain %d given twice", chain)
		}
		out[chain] = block
	}
	return out, nil
}

// formatUnits renders a base-unit amount with its decimals, exactly ("-1.500000").
func formatUnits(x *big.Int, decimals uint8) string {
	if x == nil {
		x = new(big.Int)
	}
	neg := x.Sign() < 0
	digits := new(big.Int).Abs(x).String()
	d := int(decimals)
	if d > 0 {
		if len(digits) <= d {
			digits = strings.Repeat("0", d-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-d] + "." + digits[len(digits)-d:]
	}
	if neg {
		digits = "-" + digits
	}
	return digits
}

func sortedChains(v pending.View) []uint64 {
	ids := make([]uint64, 0, len(v.Chains))
	for id := range v.Chains {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func sortedTokens(c pending.ChainView) []string {
	toks := make([]string, 0, len(c.Tokens))
	for t := range c.Tokens {
		toks = append(toks, t)
	}
	sort.Strings(toks)
	return toks
}

func printPending(w io.Writer, v pending.View, withLegs bool) error {
	fmt.Fprintf(w, "account %s\n\n", v.Account)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHAIN\tTOKEN\tPENDING\tBASE UNITS\tBLOCK\tAS OF\tNOTE")
	for _, id := range sortedChains(v) {
		c := v.Chains[id]
		note := ""
		if c.Ahead {
			note = "ahead of ledger: conservative"
		}
		toks := sortedTokens(c)
		if len(toks) == 0 {
			fmt.Fprintf(tw, "%d\t-\t-\t-\t%d\t%d\t%s\n", id, c.Block, c.AsOf, note)
		}
		for _, tok := range toks {
			t := c.Tokens[tok]
			n := note
			if t.Withheld != nil && t.Withheld.Sign() != 0 {
				n = strings.TrimSpace(n + fmt.Sprintf(" (credits withheld: %s)", formatUnits(t.Withheld, t.Decimals)))
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\n", id, tok, formatUnits(t.Amount, t.Decimals), t.Amount, c.Block, c.AsOf, n)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !withLegs {
		return nil
	}
	fmt.Fprintf(w, "\nlegs\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INTENT\tLEG\tCHAIN\tTOKEN\tAMOUNT\tUNTIL BLOCK\tSTATE\tUPDATED")
	for _, l := range v.Legs() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", l.IntentID, l.Name, l.ChainID, l.Token, formatUnits(l.Amount, l.Decimals), l.UntilBlock, l.State, l.UpdatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

type jsonTotal struct {
	Amount   string `json:"amount"`
	Decimals uint8  `json:"decimals"`
	Withheld string `json:"withheld,omitempty"`
}

type jsonChain struct {
	ChainID uint64               `json:"chainId"`
	Block   uint64               `json:"block"`
	AsOf    uint64               `json:"asOf"`
	Ahead   bool                 `json:"ahead"`
	Tokens  map[string]jsonTotal `json:"tokens"`
}

func printPendingJSON(w io.Writer, v pending.View, withLegs bool) error {
	out := struct {
		Account string      `json:"account"`
		Chains  []jsonChain `json:"chains"`
		Legs    []any       `json:"legs,omitempty"`
	}{Account: v.Account}
	for _, id := range sortedChains(v) {
		c := v.Chains[id]
		jc := jsonChain{ChainID: id, Block: c.Block, AsOf: c.AsOf, Ahead: c.Ahead, Tokens: map[string]jsonTotal{}}
		for tok, t := range c.Tokens {
			jt := jsonTotal{Amount: t.Amount.String(), Decimals: t.Decimals}
			if t.Withheld != nil && t.Withheld.Sign() != 0 {
				jt.Withheld = t.Withheld.String()
			}
			jc.Tokens[tok] = jt
		}
		out.Chains = append(out.Chains, jc)
	}
	if withLegs {
		for _, l := range v.Legs() {
			s, err := pending.EncodeLeg(l)
			if err != nil {
				return err
			}
			out.Legs = append(out.Legs, map[string]any{"field": l.Field(), "value": json.RawMessage(s)})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return errors.Join(errors.New("write json"), err)
	}
	return nil
}
