package miner

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference/api"
)

// servingMiner runs Serve (the daemon's HTTP server, timeouts and
// connection cap included) on a loopback port.
func servingMiner(t *testing.T, rate float64, tweak func(*ServerConfig)) (*accessFixture, string) {
	t.Helper()
	return servingMinerOn(t, listenLoopback(t), rate, tweak)
}

func servingMinerOn(t *testing.T, ln net.Listener, rate float64, tweak func(*ServerConfig)) (*accessFixture, string) {
	t.Helper()
	f := newAccessFixture(t, rate, tweak) // the httptest copy is not used
	cfg := f.m.cfg
	srv, err := NewServer(ServerConfig{
		Engine: cfg.Engine, Signer: cfg.Signer, Authorize: cfg.Authorize, MaxTokens: cfg.MaxTokens,
		RequestTimeout: cfg.RequestTimeout, BodyTimeout: cfg.BodyTimeout, MaxConnsPerIP: cfg.MaxConnsPerIP,
		Concurrency: cfg.Concurrency, QueueSize: cfg.QueueSize, StreamWriteTimeout: cfg.StreamWriteTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	f.m = &testMiner{Server: srv, URL: "http://" + ln.Addr().String(), Addr: cfg.Signer.Address()}
	return f, ln.Addr().String()
}

// signedWire signs a request from s without sending it and returns it as
// it would go on the wire, and the length of its body.
func signedWire(t *testing.T, s transport.Signer, m *testMiner, path string, body []byte) []byte {
	t.Helper()
	cp := &capture{}
	c, err := transport.NewClient(s, &http.Client{Transport: cp})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Do(context.Background(), http.MethodPost, m.URL+path, m.Addr, body)
	if len(cp.reqs) != 1 {
		t.Fatal("nothing captured")
	}
	var b bytes.Buffer
	if err := cp.reqs[0].Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Connections that send a validly signed request's body slowly are closed
// once the body timeout passes, not held for the whole request timeout.
func TestSlowBodyConnectionsClosed(t *testing.T) {
	f, addr := servingMiner(t, 0, func(cfg *ServerConfig) {
		cfg.RequestTimeout = 30 * time.Second
		cfg.BodyTimeout = 300 * time.Millisecond
	})
	const n = 20
	maxTok := 4
	conns := make([]net.Conn, 0, n)
	for range n {
		body := mustJSON(t, api.CompletionRequest{Prompt: api.Prompt{Text: "Once upon a time"}, MaxTokens: &maxTok})
		wire := signedWire(t, f.validator, f.m, "/v1/completions", body)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write(wire[:len(wire)-len(body)+5]); err != nil { // five bytes of body, then nothing
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	start := time.Now()
	for i, c := range conns {
		// Generous for a loaded CI machine; before the fix they stayed 30 s.
		_ = c.SetReadDeadline(start.Add(5 * time.Second))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection %d still open after %s", i, time.Since(start))
		}
	}
	t.Logf("%d slow-body connections closed within %s", n, time.Since(start))

	// The body deadline ends with the body: a generation and a stream that
	// outlive it are not cut.
	slow := func(cfg *ServerConfig) {
		cfg.Engine = WithFaults(tinyEngine(t), Faults{Delay: 60 * time.Millisecond})
		cfg.BodyTimeout = 200 * time.Millisecond
	}
	f2, _ := servingMiner(t, 0, slow)
	c, _ := newTransportClient(t, f2.validator)
	maxTok = 12
	resp, err := post(t, c, f2.m, "/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &maxTok})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("long generation: %v %v", resp, err)
	}
	st, err := c.Stream(context.Background(), http.MethodPost, f2.m.URL+"/v1/completions", f2.m.Addr,
		mustJSON(t, api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &maxTok, Stream: true}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(st.Body)
	st.Body.Close()
	if err != nil || !strings.Contains(string(b), "[DONE]") {
		t.Fatalf("long stream cut: %v %s", err, b)
	}
}

// A client address holds at most MaxConnsPerIP connections; one more is
// answered 429 in OpenAI's shape, and a freed place is usable again.
func TestConnectionsPerIPCapped(t *testing.T) {
	f, addr := servingMiner(t, 0, func(cfg *ServerConfig) { cfg.MaxConnsPerIP = 3 })
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		held = append(held, c)
	}
	health := func() (*http.Response, []byte, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, nil, err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: miner\r\nConnection: close\r\n\r\n"); err != nil {
			return nil, nil, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return nil, nil, err
		}
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	resp, body, err := health()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 || !strings.Contains(string(body), `"code":"too_many_connections"`) || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth connection: %d %s", resp.StatusCode, body)
	}
	if got := metricValue(t, f.m.Metrics(), "merit_miner_rejections_total", map[string]string{"reason": "too_many_connections"}); got != 1 {
		t.Errorf("too_many_connections counted %v", got)
	}
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body, err = health()
		if err == nil && resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("place never freed: %v %v %s", err, resp, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A stream whose client stops reading loses its connection, and frees its
// generation slot, once one event cannot be written within the stream
// write timeout; it is not held for the whole request timeout.
func TestStalledStreamReaderFreesSlot(t *testing.T) {
	// Small socket buffers on both sides, so that a reader that stops
	// stalls the writer within a few events.
	f, addr := servingMinerOn(t, smallSendBuffers{listenLoopback(t)}, 0, func(cfg *ServerConfig) {
		cfg.MaxTokens = nil // up to the context: about 1 MB of events
		cfg.Concurrency, cfg.QueueSize = 1, -1
		cfg.RequestTimeout = 30 * time.Second
		cfg.StreamWriteTimeout = 300 * time.Millisecond
	})
	temp, top := 0.0, 20
	body := mustJSON(t, api.CompletionRequest{Prompt: api.Prompt{Text: "Once upon a time"}, Temperature: &temp, Logprobs: &top, Stream: true})
	wire := signedWire(t, f.validator, f.m, "/v1/completions", body)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := c.Write(wire); err != nil { // and never read
		t.Fatal(err)
	}
	waitRunning(t, f.m, 1)
	start := time.Now()
	for {
		if _, r := f.m.queue.depth(); r == 0 {
			break
		}
		if time.Since(start) > 10*time.Second { // generous; before the fix, 40 s
			t.Fatalf("slot still held %s after the reader stalled", time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("slot freed %s after the stream started", time.Since(start))
}

// smallSendBuffers shrinks the send buffer of accepted connections.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}
