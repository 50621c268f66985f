package validator

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/internal/connlimit"
	"github.com/meritnet/merit/validator/gateway"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

// TestSlowBodiesDoNotHoldTheServer: 100 connections with a valid key that
// trickle their bodies are cut off by the read timeout (or refused beyond
// the per-IP cap at once) long before their senders give up, and the
// server still streams answers afterwards.
func TestSlowBodiesDoNotHoldTheServer(t *testing.T) {
	eng, _ := validatortest.TinyReference(t)
	good := validatortest.StartMiner(t, 2, eng)
	keys, err := gateway.LoadAPIKeys(validatortest.KeysFile(t, "alice "+testKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := transport.NewClient(validatortest.NewIdentity(t, "val"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, ref := validatortest.TinyReference(t)
	g := gateway.New(gateway.Config{Keys: keys, Client: c, Miners: func() []miners.Miner { return []miners.Miner{good} },
		Reference: func() *reference.Reference { return ref }, MaxTokens: func() int { return 16 }, Record: func(miners.Outcome) {}})
	mux := http.NewServeMux()
	mux.Handle("/v1/", g)
	lim := HTTPLimits{ReadTimeout: time.Second, WriteTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second, MaxConnsPerIP: 64}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(mux, lim)
	go func() { _ = srv.Serve(connlimit.PerIP(l, lim.MaxConnsPerIP, nil)) }()
	t.Cleanup(func() { _ = srv.Close() })

	const conns, window = 100, 20 * time.Second
	start := time.Now()
	var (
		mu      sync.Mutex
		closed  []time.Duration
		refused int
		wg      sync.WaitGroup
	)
	for range conns {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		fmt.Fprintf(c, "POST /v1/completions HTTP/1.1\r\nHost: v\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", testKey)
		stop := make(chan struct{})
		wg.Add(2)
		go func() { // the slow sender: one byte every 200 ms for the whole window
			defer wg.Done()
			tk := time.NewTicker(200 * time.Millisecond)
			defer tk.Stop()
			for time.Since(start) < window {
				select {
				case <-stop:
					return
				case <-tk.C:
				}
				if _, err := c.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
		go func() { // when does the server let go?
			defer wg.Done()
			defer close(stop)
			_ = c.SetReadDeadline(start.Add(window + 5*time.Second))
			b, _ := io.ReadAll(c)
			mu.Lock()
			defer mu.Unlock()
			closed = append(closed, time.Since(start))
			if bytes.Contains(b, []byte(" 429 ")) {
				refused++
			}
		}()
	}
	wg.Wait()
	var longest time.Duration
	for _, d := range closed {
		longest = max(longest, d)
	}
	// Generous for a busy CI machine; the point is "not the whole window".
	if longest > window/2 {
		t.Fatalf("a slow-body connection stayed open %s of a %s window", longest, window)
	}
	if refused < conns-lim.MaxConnsPerIP {
		t.Fatalf("%d connections refused over the per-IP cap of %d, want at least %d", refused, lim.MaxConnsPerIP, conns-lim.MaxConnsPerIP)
	}
	t.Logf("%d connections: all closed within %s, %d refused at the cap", conns, longest.Round(time.Millisecond), refused)

	// Slots are back: a streamed answer goes through the same server.
	req, _ := http.NewRequest("POST", "http://"+l.Addr().String()+"/v1/completions",
		strings.NewReader(`{"prompt":"Once upon a time","max_tokens":8,"stream":true}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	done := false
	for sc.Scan() {
		done = done || sc.Text() == "data: [DONE]"
	}
	if resp.StatusCode != 200 || !done {
		t.Fatalf("stream after the flood: %d done=%v", resp.StatusCode, done)
	}
}
