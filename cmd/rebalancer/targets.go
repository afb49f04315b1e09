package main

func init() {
	notYet("executor", "carry out intents on the venues; keep the pending ledger", 7, "the executor")
	notYet("all", "run the three services in one process", 8, "the all-in-one target")
}
