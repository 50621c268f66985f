package transport

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Tags open each signing payload. They differ per message kind so that a
// signature made for one kind can never be presented as another, and carry
// a version so the format can change without ambiguity.
const (
	tagRequest  = "merit-req-v1"
	tagResponse = "merit-res-v1"
	tagStream   = "merit-end-v1"
)

// RequestPayload is the exact byte string a request signature covers:
//
//	merit-req-v1 \n METHOD \n request-target \n hex(sha256(body)) \n
//	unix-millis \n nonce \n receiver
//
// joined by single "\n", no trailing newline. request-target is the path
// and query exactly as on the HTTP request line ("/v1/completions?x=1").
func RequestPayload(method, target, bodySHA, ts, nonce, receiver string) []byte {
	return joinLines(tagRequest, method, target, bodySHA, ts, nonce, receiver)
}

// ResponsePayload is what a response signature covers:
//
//	merit-res-v1 \n status \n hex(sha256(body)) or "stream" \n unix-millis \n
//	request-nonce \n requester
//
// The request's nonce and the requester's address bind the response to the
// one request it answers.
func ResponsePayload(status int, bodySHA, ts, nonce, requester string) []byte {
	return joinLines(tagResponse, strconv.Itoa(status), bodySHA, ts, nonce, requester)
}

// StreamTrailerPayload is what the trailer at the end of a streamed response
// signs: the same fields as ResponsePayload (ts is the response header's)
// with the digest of every body byte before the trailer line.
func StreamTrailerPayload(status int, bodySHA, ts, nonce, requester string) []byte {
	return joinLines(tagStream, strconv.Itoa(status), bodySHA, ts, nonce, requester)
}

func joinLines(fields ...string) []byte {
	return []byte(strings.Join(fields, "\n"))
}

// BodySHA256 is the lowercase hex sha256 digest used in payloads.
func BodySHA256(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

func formatMillis(t time.Time) string {
	return strconv.FormatInt(t.UnixMilli(), 10)
}
