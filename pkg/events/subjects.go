package events

// Stream topology (DESIGN §4): one stream, REBAL, holding every subject below rebal.v1.
const (
	StreamName        = "REBAL"
	SubjectRoot       = "rebal.v1"
	SubjectAll        = "rebal.v1.>"
	SubjectBalances   = "rebal.v1.balances"
	SubjectIntents    = "rebal.v1.intents"
	SubjectExecutions = "rebal.v1.executions"
	SubjectLedger     = "rebal.v1.ledger"
	SubjectDLQ        = "rebal.v1.dlq"
	SubjectControl    = "rebal.v1.control"
)
