package balancewatcher

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	published *prometheus.CounterVec
	dupes     *prometheus.CounterVec
	errors    *prometheus.CounterVec
	reorgs    *prometheus.CounterVec
	head      *prometheus.GaugeVec
	lastOK    *prometheus.GaugeVec
	stale     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_watcher_snapshots_published_total", Help: "Snapshots published, by location."}, []string{"location"}),
		dupes:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_watcher_snapshots_duplicate_total", Help: "Snapshots the stream already had, by location."}, []string{"location"}),
		errors:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_watcher_read_errors_total", Help: "Failed reads of a chain or venue, by location."}, []string{"location"}),
		reorgs:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rebal_watcher_reorgs_total", Help: "Reorgs found at or below the confirmed head, by location."}, []string{"location"}),
		head:      prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rebal_watcher_confirmed_head", Help: "Last published block, by location."}, []string{"location"}),
		lastOK:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rebal_watcher_last_success_timestamp_seconds", Help: "Time of the last successful read, by location."}, []string{"location"}),
		stale:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rebal_watcher_location_stale", Help: "1 while a location has not been read successfully within its staleness limit."}, []string{"location"}),
	}
	if reg != nil {
		reg.MustRegister(m.published, m.dupes, m.errors, m.reorgs, m.head, m.lastOK, m.stale)
	}
	return m
}
