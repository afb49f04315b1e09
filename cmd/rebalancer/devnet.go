//go:build !nodevnet

package main

func init() {
	notYet("devnet", "run everything on this machine: embedded NATS, Redis, simulated chains and venues", 8, "devnet")
}
