package executor

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	accepted   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	steps      *prometheus.CounterVec
	attention  *prometheus.CounterVec
	effects    *prometheus.CounterVec
	leaseHeld  *prometheus.GaugeVec
	halted     *prometheus.GaugeVec
	asOf       *prometheus.GaugeVec
	heldBack   *prometheus.CounterVec
	stepErrors *prometheus.CounterVec
	ops        *opsMetrics // metrics_ops.go
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		accepted:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_executor_intents_accepted_total", Help: "Intents accepted, by venue."}, []string{"venue"}),
		rejected:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_executor_intents_rejected_total", Help: "Intents rejected at accept, by venue."}, []string{"venue"}),
		steps:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_executor_steps_recorded_total", Help: "Steps recorded, by venue and the state entered."}, []string{"venue", "state"}),
		attention:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_executor_needs_attention_total", Help: "Intents escalated to needs_attention, by venue and the state they left."}, []string{"venue", "from"}),
		effects:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_executor_side_effects_total", Help: "External side effects started, by venue and kind."}, []string{"venue", "effect"}),
		leaseHeld:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rebal_executor_lease_held", Help: "1 while this replica holds the (venue, account) lease."}, []string{"venue", "account"}),
		halted:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rebal_executor_halted", Help: "1 while a kill switch, a pause or unknown control state holds side effects back, by venue."}, []string{"venue"}),
		asOf:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rebal_executor_ledger_asof", Help: "The ledger's asOf block, by account and chain."}, []string{"account", "chain"}),
		heldBack:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_executor_asof_held_back_total", Help: "Snapshots that could not advance asOf yet, by chain."}, []string{"chain"}),
		stepErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_executor_step_errors_total", Help: "Steps that failed and will be retried, by venue."}, []string{"venue"}),
	}
	m.ops = newOpsMetrics(reg)
	if reg != nil {
		reg.MustRegister(m.accepted, m.rejected, m.steps, m.attention, m.effects, m.leaseHeld, m.halted, m.asOf, m.heldBack, m.stepErrors)
	}
	return m
}
