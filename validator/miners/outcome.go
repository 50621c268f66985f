package miners

import "time"

// Probe results, as counted in metrics and shown on the dashboard.
const (
	ResultOK                 = "ok"
	ResultFailedVerification = "failed_verification"
	ResultWrongModel         = "wrong_model"
	ResultTimeout            = "timeout"
	ResultRefused            = "refused"     // connection refused: nothing listens
	ResultUnreachable        = "unreachable" // DNS, no route, reset, or any other dial failure
	ResultRejected           = "rejected"    // the miner answered with a non-2xx status
	ResultInvalid            = "invalid"     // unsigned, tampered or malformed answer
	ResultError              = "error"       // the validator could not check the answer (its own fault)
	// ResultSkipped counts probes refused (429) while this validator's own
	// traffic used the miner's budget: no outcome, not held against it.
	ResultSkipped = "skipped"
)

// ProbeResults lists the results for pre-registering metric labels.
func ProbeResults() []string {
	return []string{ResultOK, ResultFailedVerification, ResultWrongModel, ResultTimeout, ResultRefused,
		ResultUnreachable, ResultRejected, ResultInvalid, ResultError, ResultSkipped}
}

// Outcome is what one request to a miner showed.
type Outcome struct {
	UID    uint16
	Hotkey string
	Result string
	// Reason is the verifier's failure reason, or a short error class.
	Reason string
	Detail string
	// TTFT is the time to the first token, Latency to the end of the answer.
	TTFT    time.Duration
	Latency time.Duration
	Tokens  int
	// SpotCheck marks outcomes of gateway traffic: only their failures
	// count, since user requests are not comparable in size.
	SpotCheck bool
}

// Failed reports whether the outcome disqualifies the miner for the round.
func (o Outcome) Failed() bool {
	return o.Result == ResultFailedVerification || o.Result == ResultWrongModel
}

// GenTime is the time spent producing tokens after the first one; with a
// single token it is the whole latency, so that tokens/s stays defined.
func (o Outcome) GenTime() time.Duration {
	if o.Tokens > 1 && o.Latency > o.TTFT {
		return o.Latency - o.TTFT
	}
	return o.Latency
}
