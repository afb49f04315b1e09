package main

func init() {
	notYet("planner", "decide rebalance intents from snapshots and targets", 4, "the planner")
	notYet("executor", "carry out intents on the venues; keep the pending ledger", 7, "the executor")
	notYet("all", "run the three services in one process", 8, "the all-in-one target")
	notYet("replay", "re-run the planner over a stream range (what-if with --config)", 4, "replay")
	notYet("plan", "dry-run the planner on a snapshot file", 4, "plan")
}
