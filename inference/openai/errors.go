package openai

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// Errors of the upstream backend; test with errors.Is. StatusError also
// matches the inference errors ErrInvalidRequest and ErrContextLength when
// the upstream rejected the request for those reasons.
var (
	// ErrUpstream: the upstream answered with an HTTP error status.
	ErrUpstream = errors.New("upstream error")
	// ErrUnavailable: connection refused or reset, DNS failure, or 502/503/504.
	ErrUnavailable = errors.New("upstream unavailable")
	// ErrTimeout: the request took longer than Config.Timeout.
	ErrTimeout = errors.New("upstream timed out")
	// ErrUnauthorized: 401 or 403, usually a wrong API key.
	ErrUnauthorized = errors.New("upstream refused credentials")
	// ErrModelNotFound: 404, usually a wrong model name or base URL.
	ErrModelNotFound = errors.New("upstream model or endpoint not found")
	// ErrRateLimited: 429.
	ErrRateLimited = errors.New("upstream rate limited")
	// ErrMalformed: the body is not the JSON or SSE the API specifies.
	ErrMalformed = errors.New("malformed upstream response")
	// ErrMissingLogprobs: tokens came without logprobs.
	ErrMissingLogprobs = errors.New("upstream response has no logprobs")
	// ErrMissingTokenIDs: logprobs came without token ids (for vLLM use the
	// vllm dialect, which asks for them, or --return-tokens-as-token-ids).
	ErrMissingTokenIDs = errors.New("upstream response has no token ids")
	// ErrResponseTooLarge: the body exceeded Config.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("upstream response too large")
)

// StatusError is an HTTP error answer of the upstream.
type StatusError struct {
	Status  int
	Type    string
	Message string
}

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Type != "" {
		return fmt.Sprintf("upstream HTTP %d (%s): %s", e.Status, e.Type, msg)
	}
	return fmt.Sprintf("upstream HTTP %d: %s", e.Status, msg)
}

// Unwrap classifies the error.
func (e *StatusError) Unwrap() []error {
	errs := []error{ErrUpstream}
	switch s := e.Status; {
	case s == 400 || s == 422 || s == 413:
		errs = append(errs, inference.ErrInvalidRequest)
		if isContextLengthMessage(e.Message + " " + e.Type) {
			errs = append(errs, inference.ErrContextLength)
		}
	case s == 401 || s == 403:
		errs = append(errs, ErrUnauthorized)
	case s == 404:
		errs = append(errs, ErrModelNotFound)
	case s == 429:
		errs = append(errs, ErrRateLimited)
	case s == 502 || s == 503 || s == 504:
		errs = append(errs, ErrUnavailable)
	}
	return errs
}

func isContextLengthMessage(m string) bool {
	m = strings.ToLower(m)
	for _, s := range []string{"context length", "context size", "context_length", "exceed_context", "too long", "maximum context"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

func statusError(status int, body []byte) error {
	eb := api.DecodeError(body)
	return &StatusError{Status: status, Type: eb.Type, Message: eb.Message}
}

// transportError classifies an error of the HTTP round trip. The caller's own
// cancellation is returned as is.
func transportError(ctx, callerCtx context.Context, err error) error {
	if callerCtx.Err() != nil {
		return callerCtx.Err()
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrResponseTooLarge):
		return err
	case ctx.Err() == context.DeadlineExceeded, errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: connection refused: %v", ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}
