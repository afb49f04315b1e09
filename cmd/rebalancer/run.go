package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

var (
	// errHelp ends a run that printed help: exit 0.
	errHelp = errors.New("help requested")
	// errUsage is a command-line mistake: exit 2.
	errUsage = errors.New("usage")
)

// env is what every target receives.
type env struct {
	log    zerolog.Logger
	stdout io.Writer
	stderr io.Writer
}

// target is one subcommand.
type target struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

// targets is filled by the files that implement them (see targets.go, devnet*.go).
var targets = map[string]target{}

func register(t target) { targets[t.name] = t }

func usage(w io.Writer) {
	fmt.Fprintf(w, `rebalancer keeps a cross-chain relayer's stablecoin inventory where it is needed.

Usage: rebalancer [global flags] <target> [flags]

Targets:
`)
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, targets[n].summary)
	}
	fmt.Fprintf(w, `
Global flags:
  --log-level LEVEL   debug, info, warn, error (default info)
  --log-format FMT    json or console (default json; devnet uses console)

Run 'rebalancer <target> --help' for a target's flags.
`)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rebalancer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	level := fs.String("log-level", "info", "")
	format := fs.String("log-format", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return errHelp
		}
		usage(stderr)
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		usage(stderr)
		return fmt.Errorf("%w: no target given", errUsage)
	}
	name := rest[0]
	if name == "help" {
		usage(stdout)
		return errHelp
	}
	// "config check" is two words.
	if name == "config" && len(rest) > 1 && rest[1] == "check" {
		name, rest = "config check", rest[1:]
	}
	t, ok := targets[name]
	if !ok {
		usage(stderr)
		return fmt.Errorf("%w: unknown target %q", errUsage, name)
	}
	if *format == "" {
		*format = "json"
		if name == "devnet" {
			*format = "console"
		}
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	err = t.run(ctx, env{log: log.With().Str("target", t.name).Logger(), stdout: stdout, stderr: stderr}, rest[1:])
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return err
}

func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || lvl == zerolog.NoLevel {
		return zerolog.Logger{}, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w)}
	default:
		return zerolog.Logger{}, fmt.Errorf("--log-format %q: want json or console", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
