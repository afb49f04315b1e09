package main

func init() {
	register(target{name: "balancewatcher", summary: "watch balances on chains and venues; publish snapshots", run: notYet(3, "the balance watcher")})
	register(target{name: "planner", summary: "decide rebalance intents from snapshots and targets", run: notYet(4, "the planner")})
	register(target{name: "executor", summary: "carry out intents on the venues; keep the pending ledger", run: notYet(7, "the executor")})
	register(target{name: "all", summary: "run the three services in one process", run: notYet(8, "the all-in-one target")})
	register(target{name: "replay", summary: "re-run the planner over a stream range (what-if with --config)", run: notYet(4, "replay")})
	register(target{name: "pending", summary: "print an account's pending ledger as the inventory client sees it", run: notYet(7, "the pending command")})
	register(target{name: "plan", summary: "dry-run the planner on a snapshot file", run: notYet(4, "plan")})
	register(target{name: "config check", summary: "validate a configuration file", run: notYet(4, "config check")})
}
