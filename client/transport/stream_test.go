package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// sseHandler streams n events, flushing each; if gate is set it waits on it
// after the first event, so a test can prove the client sees that event
// before the handler finishes.
func sseHandler(n int, gate <-chan struct{}, trailingNewline bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		for i := range n {
			fmt.Fprintf(w, "data: {\"token\":%d}\n\n", i)
			w.(http.Flusher).Flush()
			if i == 0 && gate != nil {
				<-gate
			}
		}
		if !trailingNewline {
			fmt.Fprint(w, "data: [DONE]")
		} else {
			fmt.Fprint(w, "data: [DONE]\n\n")
		}
	})
}

func TestStreamIncrementalAndVerified(t *testing.T) {
	gate := make(chan struct{})
	srv := newTestServer(t, sseHandler(3, gate, true), nil)
	c := srv.client(t, newSigner(t))
	sr, err := c.Stream(context.Background(), http.MethodPost, srv.URL+"/v1/completions", srv.signer.Address(), []byte(`{"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Body.Close()
	if sr.StatusCode != 200 || sr.Signer != srv.signer.Address() {
		t.Fatalf("status %d signer %s", sr.StatusCode, sr.Signer)
	}
	br := bufio.NewReader(sr.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != "data: {\"token\":0}\n" {
		t.Fatalf("first line %q, %v", first, err)
	}
	close(gate) // the handler was still blocked: the event really streamed
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("verified stream errored: %v", err)
	}
	want := "\ndata: {\"token\":1}\n\ndata: {\"token\":2}\n\ndata: [DONE]\n\n"
	if string(rest) != want {
		t.Fatalf("rest %q, want %q", rest, want)
	}
}

func TestStreamEndingMidLine(t *testing.T) {
	srv := newTestServer(t, sseHandler(1, nil, false), nil)
	sr, err := srv.client(t, newSigner(t)).Stream(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(body), "data: [DONE]\n") {
		t.Fatalf("body %q", body)
	}
}

func TestStreamEmpty(t *testing.T) {
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
	}), nil)
	sr, err := srv.client(t, newSigner(t)).Stream(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if body, err := io.ReadAll(sr.Body); err != nil || len(body) != 0 {
		t.Fatalf("body %q err %v", body, err)
	}
}

func TestDoReadsStream(t *testing.T) {
	srv := newTestServer(t, sseHandler(2, nil, true), nil)
	resp, err := srv.client(t, newSigner(t)).Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(resp.Body, []byte(trailerPrefix)) || !bytes.HasSuffix(resp.Body, []byte("data: [DONE]\n\n")) {
		t.Fatalf("body %q", resp.Body)
	}
}

func TestStreamOfBufferedResponse(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	sr, err := srv.client(t, newSigner(t)).Stream(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil || !bytes.Contains(body, []byte(`"caller"`)) {
		t.Fatalf("body %q err %v", body, err)
	}
}

// rewriteBody replaces a streamed response body by f(original bytes).
func rewriteBody(f func([]byte) []byte) func(*http.Response) *http.Response {
	return func(r *http.Response) *http.Response {
		b, _ := io.ReadAll(r.Body)
		replaceBody(r, f(b))
		r.ContentLength = -1
		return r
	}
}

func TestStreamTampering(t *testing.T) {
	srv := newTestServer(t, sseHandler(3, nil, true), nil)
	cases := []struct {
		name   string
		tamper func(*http.Response) *http.Response
		want   Reason
	}{
		{"event altered", rewriteBody(func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"token":1`), []byte(`"token":7`), 1)
		}), ReasonBadSignature},
		{"event dropped", rewriteBody(func(b []byte) []byte {
			return bytes.Replace(b, []byte("data: {\"token\":1}\n\n"), nil, 1)
		}), ReasonBadSignature},
		{"trailer cut", rewriteBody(func(b []byte) []byte {
			return b[:bytes.Index(b, []byte(trailerPrefix))]
		}), ReasonTruncated},
		{"cut inside trailer", rewriteBody(func(b []byte) []byte {
			return b[:bytes.Index(b, []byte(trailerPrefix))+len(trailerPrefix)+10]
		}), ReasonTruncated},
		{"data after trailer", rewriteBody(func(b []byte) []byte {
			return append(b, "data: extra\n\n"...)
		}), ReasonTamperedBody},
		{"trailer garbled", rewriteBody(func(b []byte) []byte {
			i := bytes.Index(b, []byte(trailerPrefix)) + len(trailerPrefix)
			return append(append(b[:i:i], "!!!"...), b[i+3:]...)
		}), ReasonMalformed},
		{"header commitment changed", func(r *http.Response) *http.Response {
			r.Header.Set(HeaderBodySHA256, strings.Repeat("0", 64))
			return r
		}, ReasonBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hc := tamperingClient(srv.Server.Client(), tc.tamper)
			c, err := NewClient(newSigner(t), hc, WithClock(srv.clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			sr, err := c.Stream(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
			if err == nil {
				_, err = io.ReadAll(sr.Body)
				sr.Body.Close()
			}
			wantResponseError(t, err, tc.want)
		})
	}
}

// Another stream's trailer, spliced onto this one, does not verify.
func TestStreamTrailerFromOtherRequest(t *testing.T) {
	srv := newTestServer(t, sseHandler(1, nil, true), nil)
	var firstTrailer []byte
	hc := tamperingClient(srv.Server.Client(), rewriteBody(func(b []byte) []byte {
		i := bytes.Index(b, []byte(trailerPrefix))
		if firstTrailer == nil {
			firstTrailer = append([]byte(nil), b[i:]...)
			return b
		}
		return append(b[:i:i], firstTrailer...)
	}))
	c, err := NewClient(newSigner(t), hc, WithClock(srv.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []Reason{"", ReasonBadSignature} {
		_, err := c.Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
		if want == "" {
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			continue
		}
		wantResponseError(t, err, want)
	}
}

func TestStreamLongLines(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // several bufio buffers
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: %s\n\n", long)
		// A payload line that merely contains the trailer marker is data.
		fmt.Fprintf(w, "data: %s\n\n", trailerPrefix)
	}), nil)
	sr, err := srv.client(t, newSigner(t)).Stream(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(sr.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want := "data: " + long + "\n\ndata: " + trailerPrefix + "\n\n"; string(body) != want {
		t.Fatalf("body of %d bytes differs", len(body))
	}
}

func TestStreamSizeLimitInDo(t *testing.T) {
	srv := newTestServer(t, sseHandler(100, nil, true), nil)
	_, err := srv.client(t, newSigner(t), WithMaxResponseBytes(256)).Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	wantResponseError(t, err, ReasonTooLarge)
}

// A handler that never sets the SSE content type is buffered even if it
// flushes, so its whole body is covered by the header signature.
func TestFlushOnBufferedResponse(t *testing.T) {
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("a"))
		w.(http.Flusher).Flush()
		w.Write([]byte("b"))
	}), nil)
	resp, err := srv.client(t, newSigner(t)).Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	if err != nil || string(resp.Body) != "ab" || resp.Header.Get(HeaderBodySHA256) == streamCommitment {
		t.Fatalf("body %q err %v", resp.Body, err)
	}
}

func TestSigningFailure(t *testing.T) {
	good := newSigner(t)
	srv := newTestServer(t, nil, func(c *VerifierConfig) { c.Signer = failingSigner{good} })
	sawErr := make(chan error, 1)
	srv.verifier.cfg.OnError = func(_ *http.Request, err error) { sawErr <- err }
	_, err := srv.client(t, newSigner(t)).Do(context.Background(), http.MethodGet, srv.URL+"/", good.Address(), nil)
	re := wantResponseError(t, err, ReasonMissingSignature)
	if re.StatusCode != http.StatusInternalServerError || re.ServerReason != "sign_failed" {
		t.Fatalf("status %d, server reason %q", re.StatusCode, re.ServerReason)
	}
	if err := <-sawErr; err == nil {
		t.Fatal("OnError not told")
	}
}

type failingSigner struct{ Signer }

func (failingSigner) Sign([]byte) ([]byte, error) { return nil, errors.New("hsm unplugged") }
