// Package bus is the rebalancer's JetStream backbone and the only package that imports nats.go.
// It declares the REBAL stream, publishes events from pkg/events, consumes them through durable
// pull consumers, dead-letters what cannot be handled and reads ranges of the stream for replay.
//
// Topology (DESIGN §4). Connect declares the stream REBAL on subjects rebal.v1.> idempotently:
// file storage, limits retention by age (7 days by default) and bytes, a duplicate window of at
// least 10 minutes, the configured number of replicas. A stream that exists is updated to this
// configuration; one whose configuration cannot be updated (another storage type or retention
// policy, or subjects another stream already owns) fails Connect with ErrStreamConflict naming the
// difference, rather than running against a stream that does not keep its promises.
//
// Publishing. Publish sends one event with its Nats-Msg-Id (events.Event.MsgID) and the headers
// of events.Encode, and waits for the stream's acknowledgement. Republishing the same fact inside
// the duplicate window is not an error: PublishResult.Duplicate says the stream already had it,
// with the sequence of the first copy. Because of that de-duplication Publish retries transient
// failures (no responders during a leader change or a reconnect, a timed out ack) on its own,
// until the caller's context ends. PublishBatch publishes asynchronously with a stall wait far
// above nats.go's 200 ms default and retries a stalled publish.
//
// Consuming. Consume binds a durable pull consumer with explicit acks (created from DeliverFrom,
// or from the start of the stream) and calls the Handler for each message, in stream order when
// Workers is 1. Every failure is classified once, here:
//
//	handler returns nil                    → Ack
//	Retry(err, d) or any other error        → NakWithDelay(d, or a backoff growing with deliveries)
//	Reject(err), or an error wrapping events.ErrInvalid → DLQ, then Term
//	handler panics                          → DLQ with the panic as reason, then Term
//	undecodable or invalid message         → DLQ, then Term; the handler never sees it
//	last delivery (MaxDeliver) fails        → DLQ, then Term
//	handler still running                   → InProgress every ProgressEvery (a third of AckWait)
//
// A poison message therefore never crashes the process and never holds back the messages behind
// it. A message whose final delivery is never acknowledged (its consumer process died) is
// dead-lettered by whichever replica of the service hears the server's max-deliveries advisory.
// If publishing to the DLQ fails, the message is not terminated: it is retried later, so nothing is
// dropped while NATS is unreachable.
//
// Dead letters. A rejected message is republished on rebal.v1.dlq.<service> with its original
// body byte for byte, its original headers, and the events.HeaderDLQ* headers (reason, service,
// subject, stream sequence, deliveries). Its Nats-Msg-Id is dlq:<service>:<stream sequence>, and
// the original Nats-Msg-Id travels in HeaderDLQMsgID: the DLQ lives in the same stream, whose
// de-duplication would otherwise swallow it as a copy of the original. The same message rejected
// twice (two replicas, a redelivery) lands once. DeadLetterOf reads one back into an
// events.DeadLetter.
//
// Replay. ReadRange reads a range of the stream in order (from a sequence or a time, to a
// sequence) through an ordered consumer, as fast as the server delivers, and decodes each message;
// messages that do not decode are passed on with DecodeErr set, so a replay sees exactly what the
// live consumers saw. LastBySubject reads the newest message of one subject (the balance watcher
// resumes from it).
//
// Shutdown. Close stops every Consume from fetching, lets the handlers in flight finish within the
// caller's budget (they may still publish and dead-letter; when the budget runs out their contexts
// are cancelled), gives messages fetched but not started back to the server (Nak) so another
// replica picks them up at once, flushes the acks, then drains the connection. Publish fails with
// ErrClosed from then on.
//
// Observability. Connected and Bound answer /readyz; metrics (published, duplicates, acked,
// retried, dead-lettered, in-progress, handler latency, by subject class) are registered on the
// prometheus.Registerer passed to Connect. Reconnects and disconnects are logged. Credentials,
// nkey seeds and TLS keys are read from files named in Config and never logged.
package bus
