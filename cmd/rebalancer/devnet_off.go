//go:build nodevnet

package main

import (
	"context"
	"errors"
)

// The production image is built with -tags nodevnet: it carries no simulator (DESIGN §9).
func init() {
	register(target{name: "devnet", summary: "not in this build (built with -tags nodevnet)", run: func(context.Context, env, []string) error {
		return errors.New("devnet is not in this build: it was built with -tags nodevnet for production; use `go run ./cmd/rebalancer devnet` from a checkout")
	}})
}
