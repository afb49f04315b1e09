// Package app assembles the services from a configuration file and the environment: it connects
// the bus, dials the chains, starts the ops server and runs each service's Run in an errgroup with
// an ordered shutdown. The rebalancer binary's targets (balancewatcher, planner, executor, all)
// and devnet are thin calls into it, so a service runs the same way in every one of them.
//
// Where secrets come from: NATS credentials and keys are named by file through the environment
// (NATS_CREDS_FILE, ...), never carried in the configuration file or logged.
package app
