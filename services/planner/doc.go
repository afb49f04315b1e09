// Package planner decides rebalance intents (DESIGN §6): a pure, deterministic core fed by a
// state folded from the REBAL stream, a service that runs it on each relevant input and publishes
// intents with deterministic ids, and the operator commands plan and replay.
//
// State. State folds the stream in order: the latest snapshot per (account, location) and its
// health (a gap, a reorg or a changed hash makes a location unhealthy until a clean contiguous
// snapshot follows), ledger watermarks, intents and execution updates, control commands. "Now" is
// the latest producer time in the stream, never the wall clock, so staleness, cooldowns and
// deadlines replay identically. Intents the planner decides count as in flight at once, through
// their own expected legs (source debit, destination credit, until block 0), until execution
// updates replace them; an intent that nobody accepted by its deadline stops counting.
//
// Warm-up. An account decides nothing until the stream has shown a first snapshot of each of its
// locations (every configured venue, every chain with a targeted token), or until a grace has
// passed in stream time since its first snapshot was folded: the largest staleAfter of the
// configured chains and venues (the config has no setting for it). Until then its Record says
// "warming up: no snapshot yet of binance, chain 56 …" (Record.WarmingUp lists them) and the
// service logs it at debug level; after it, the planner decides with what it has and the
// fail-closed rules below keep what it has not seen out of every intent. Without it a first
// decision would depend on which snapshot happened to arrive first: a plan made on a partial
// view can spend the only excess on a route that strands a deficit only an unseen venue could
// fill. The rule reads only the state (a location once seen stays known, stream time only moves
// forward, so an account warms up once), and a replay warms up exactly as the live run did.
//
// Virtual balances. For a location whose snapshot is at block b and whose ledger watermark is
// asOf, the balance is the snapshot plus the legs in effect at b (untilBlock 0 or b < untilBlock).
// When b > asOf the ledger may not yet record a deposit or landing the chain already shows, so the
// core keeps a range: lo counts every debit and no unconfirmed credit (used for excesses), hi the
// reverse (used for deficits). A move is never counted twice: the planner never spends money that
// may be gone, and never refills a deficit that may already be refilled. planner.aheadOfLedger
// "wait" instead leaves such locations out until the watermark catches up.
//
// Decision core. Plan is a pure function of (Policy, CostModel, State, account, Basis). Deficits
// (below threshold, up to target) and excesses (above max, down to target), or per-token totals in
// aggregate mode, are matched by a solver that minimises one integer objective: total cost
// (proportional costs: trade fee, spread against the fair price, latency; fixed costs per intent:
// gas, withdrawal fee) less a reward per unit filled, by tier (tier 1 weighs most), so large that
// filling always comes before saving. It is a branch and bound over the candidate routes. A
// node's bound is a min-cost flow (successive shortest paths, exact integers) in which minimum
// sizes and venue intent counts are relaxed and a free arc's fixed cost is spread over its
// largest size. A child node starts its min-cost flow from its parent's flow and potentials:
// made consistent first, then only the imbalance left by the one changed arc is re-routed, and
// the optimum is the same as from nothing (reduced-cost optimality; a test checks it on random
// children). Each min-cost flow has an augmentation guard: reaching it stops the search and the
// decision has no intent, with a Record saying so (fail closed). When that flow breaks a venue's notional cap, the bound is the node's linear
// programme with the caps, solved by a simplex in exact rationals. Nodes branch an arc open
// (minimum size, full fixed cost) or closed, or a fractional amount to its floor or ceiling; the
// branches partition the plans and every bound is a true lower bound, so a search that ends
// within its budget has found an optimal plan under every cap (Record.Proven). On 2000 random
// instances (up to 6 chains × 2 tokens × 2 venues, counts, notional caps, minimums and fixed
// costs binding) every plan is proven and equals a brute-force optimum. Each candidate's minimum
// size is raised so that its fixed cost keeps it within the fee bound: a tiny transfer never
// pays a large fixed fee. The search is bounded by a node count (planner.searchNodes, or 2048
// divided by the number of candidates, at most 256), never by a clock; a plan cut short is
// feasible and its Record says it is not proven and, when the fill is proven, how much cheaper an
// optimal plan could be at most (Gap). Large worlds whose in-flight counts bind (50 chains × 4
// tokens, 19 deficits for 19 intent slots) are assignment problems the relaxation cannot close:
// their plans are feasible but usually not proven. So are plans where a notional cap binds on
// more than 64 candidates: the linear programme would be too slow there, so the search trims
// the flow to the cap and branches around the venue's dearest intent instead.
// Fail closed: a stale, gapped or reorged location, a venue with no fresh snapshot, a paused
// venue, takes part in nothing. No feasible match yields no intent and a Record naming the cap or
// cost that ruled out each candidate.
//
// Under a static cost table (StaticCosts) what a candidate costs and allows apart from the
// state (its quote, rate, fixed cost, least size, fee-bound verdict) is computed once per
// (venue, source, destination) and kept by the Policy; a test checks decisions are the same
// bytes with quotes taken afresh. The service keeps each account's last matching problem and
// its solution: a decision that meets the same problem again (a snapshot that changed nothing
// the matching sees, deficits no route can fill) reuses it instead of searching, which is exact
// because the search is a pure function of the problem (a test checks the bytes).
//
// Amounts are *big.Int base units at the edges; inside the solver they are int64 units of the
// config's common value (ValueDecimals, rounded down for what we have and up for what we pay) and
// rates are integers in 1e-9 rounded up. No floating point is used anywhere.
//
// Ids. An intent's id is the hex SHA-256 of the config hash, the basis sequence, the account,
// venue, route and amount; its time is the basis event's producer time and its deadline that plus
// planner.intentTTL. Replaying the same stream with the same config yields the same bytes.
package planner
