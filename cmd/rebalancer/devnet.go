//go:build !nodevnet

package main

func init() {
	register(target{name: "devnet", summary: "run everything on this machine: embedded NATS, Redis, simulated chains and venues", run: notYet(8, "devnet")})
}
