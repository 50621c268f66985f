package transport

import (
	"fmt"
	"net/http"
)

// Reason names why a message was rejected. The values are stable strings,
// meant to be used as metric labels and sent to peers in the X-Merit-Error
// header.
type Reason string

// Reasons a Verifier rejects a request for, with their HTTP status.
const (
	ReasonMissingSignature Reason = "missing_signature" // 401: a signing header is absent or empty
	ReasonMalformed        Reason = "malformed"         // 400: a signing header does not parse
	ReasonBadPubKey        Reason = "bad_pubkey"        // 401: the public key does not hash to the signer address
	ReasonBadSignature     Reason = "bad_signature"     // 401: the signature does not verify
	ReasonStale            Reason = "stale"             // 401: timestamp outside the allowed clock skew
	ReasonReplay           Reason = "replay"            // 401: nonce already seen from this signer
	ReasonTamperedBody     Reason = "tampered_body"     // 401: body does not hash to the signed digest
	ReasonWrongReceiver    Reason = "wrong_receiver"    // 401: signed for another receiver
	ReasonTooLarge         Reason = "too_large"         // 413: body over the limit
	ReasonForbidden        Reason = "forbidden"         // 403: the Authorizer refused the caller
	ReasonOverloaded       Reason = "overloaded"        // 503: nonce cache full; failing closed beats accepting replays
)

// Reasons only a Client reports, about a response.
const (
	ReasonWrongSigner Reason = "wrong_signer"     // response signed by someone other than the receiver asked
	ReasonTruncated   Reason = "truncated_stream" // stream ended without its signed trailer
)

// RejectReasons lists every reason a Verifier produces by itself, so metrics
// can pre-register their label values. An Authorizer may add its own.
func RejectReasons() []Reason {
	return []Reason{
		ReasonMissingSignature, ReasonMalformed, ReasonBadPubKey, ReasonBadSignature,
		ReasonStale, ReasonReplay, ReasonTamperedBody, ReasonWrongReceiver,
		ReasonTooLarge, ReasonForbidden, ReasonOverloaded,
	}
}

// Status is the HTTP status a Verifier answers with for r.
func (r Reason) Status() int {
	switch r {
	case ReasonMalformed:
		return http.StatusBadRequest
	case ReasonTooLarge:
		return http.StatusRequestEntityTooLarge
	case ReasonForbidden:
		return http.StatusForbidden
	case ReasonOverloaded:
		return http.StatusServiceUnavailable
	default:
		return http.StatusUnauthorized
	}
}

// RejectError is why a Verifier refused a request. An Authorizer may return
// one to choose its own reason and status (say "rate_limited", 429); any
// other error from an Authorizer becomes ReasonForbidden.
type RejectError struct {
	Reason Reason
	Status int // 0 means Reason.Status()
	Err    error
	// RetryAfter, when positive, is sent as the Retry-After header (seconds):
	// an authorizer that rate-limits knows when the caller may come back.
	RetryAfter int
}

func (e *RejectError) Error() string {
	if e.Err == nil {
		return "transport: rejected: " + string(e.Reason)
	}
	return fmt.Sprintf("transport: rejected: %s: %v", e.Reason, e.Err)
}

func (e *RejectError) Unwrap() error { return e.Err }

// HTTPStatus is the status the rejection is answered with.
func (e *RejectError) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return e.Reason.Status()
}

func reject(reason Reason, format string, args ...any) *RejectError {
	return &RejectError{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ResponseError is why a Client refused a response. When the server sent an
// unsigned rejection, Reason is ReasonMissingSignature and ServerReason holds
// the X-Merit-Error it claimed (unauthenticated, so only fit for logs).
type ResponseError struct {
	Reason       Reason
	StatusCode   int
	ServerReason string
	Err          error
}

func (e *ResponseError) Error() string {
	s := fmt.Sprintf("transport: bad response (status %d): %s", e.StatusCode, e.Reason)
	if e.ServerReason != "" {
		s += " (server says " + e.ServerReason + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ResponseError) Unwrap() error { return e.Err }
