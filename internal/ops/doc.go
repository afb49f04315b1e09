// Package ops is the operations HTTP server every service runs on its ops port:
//
//	/livez         200 while the process runs; checks nothing else, so a dependency outage never
//	               gets a healthy pod restarted
//	/readyz        runs the named readiness checks (NATS connected, Redis PING, consumer bound, ...)
//	               concurrently with a timeout each; 200 when all pass, 503 otherwise, with a JSON body
//	               naming each check and its error
//	/metrics       Prometheus exposition of the registry the service passes in
//	/debug/pprof/  the standard profiles
//
// Checks are small functions the service registers; this package knows no service.
package ops
