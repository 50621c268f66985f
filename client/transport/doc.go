// Package transport is the signed HTTP+JSON channel between validators and
// miners. Every request is signed by the caller's hotkey and names its
// receiver; every response is signed by the receiver and bound to the
// request's nonce. The wire format, with the reasons behind each choice, is
// specified in docs/transport.md so that clients in other languages can
// implement it.
//
// Client side: NewClient, then Client.Do or Client.Stream (SSE).
// Server side: NewVerifier, then Verifier.Middleware around the handlers;
// handlers find the verified caller with CallerFromContext.
package transport
