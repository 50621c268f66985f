package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/gorilla/websocket"

	"github.com/meritnet/merit/internal/backoff"
)

const (
	// blockBuffer lets a consumer lag a few blocks without stalling the
	// websocket reader.
	blockBuffer = 16

	reconnectMin = 100 * time.Millisecond
	reconnectMax = 5 * time.Second

	// CometBFT pings every 27 s; a connection silent for longer than this
	// is dead even if TCP has not noticed.
	wsReadTimeout  = 60 * time.Second
	wsWriteTimeout = 10 * time.Second
	wsHandshake    = 10 * time.Second
	wsReadLimit    = 256 << 20 // a block with its results, well above CometBFT's max block size

	newBlockQuery = "tm.event='NewBlock'"
	subscribeID   = 1
)

// Blocks streams committed blocks, starting with the one after the node's
// latest height at the time of the call.
//
// Every height is delivered once, in order. The stream remembers the last
// height it delivered; when a block arrives after a gap, and after each
// (re)connection, it first fetches the missing heights over RPC (/block and
// /block_results). Connection errors are retried with exponential backoff
// (100 ms to 5 s). Heights a pruning node no longer has are skipped.
//
// The channel is closed when ctx ends or the Client is closed; a consumer
// that stops reading must cancel ctx, or the stream waits for it.
func (c *Client) Blocks(ctx context.Context) (<-chan Block, error) {
	start, err := c.Height(ctx)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(c.ctx, cancel)

	// Register under wsMu, which Close holds while cancelling, so that Close
	// either sees this stream in its WaitGroup or this call sees Close.
	c.wsMu.Lock()
	if c.isClosed() {
		c.wsMu.Unlock()
		stopOnClose()
		cancel()
		return nil, fmt.Errorf("chain: blocks: %w", ErrClosed)
	}
	c.streams.Add(1)
	c.wsMu.Unlock()

	out := make(chan Block, blockBuffer)
	s := &stream{c: c, out: out, last: start, fetch: c.fetchBlock}
	go func() {
		defer c.streams.Done()
		defer close(out)
		defer stopOnClose()
		defer cancel()
		s.run(sctx)
	}()
	return out, nil
}

// stream is the state of one Blocks call. Only its goroutine touches it.
type stream struct {
	c     *Client
	out   chan<- Block
	last  int64 // the last height delivered
	fetch func(ctx context.Context, height int64) (Block, error)
}

func (s *stream) run(ctx context.Context) {
	bo := backoff.New(reconnectMin, reconnectMax)
	for {
		before := s.last
		err := s.session(ctx)
		if ctx.Err() != nil || s.c.isClosed() {
			return
		}
		if h := s.c.hooks.streamErr; h != nil && err != nil {
			h(err)
		}
		if s.last > before {
			// The connection worked until just now: come back quickly.
			bo.Reset()
		}
		if bo.Wait(ctx) != nil {
			return
		}
	}
}

// rpcMessage is a JSON-RPC response or event notification.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error"`
}

// session runs one websocket connection: subscribe, catch up to the node's
// height, then deliver live blocks until an error.
func (s *stream) session(ctx context.Context) error {
	if h := s.c.hooks.beforeDial; h != nil {
		h()
	}
	dialer := websocket.Dialer{HandshakeTimeout: wsHandshake, Proxy: http.ProxyFromEnvironment}
	conn, resp, err := dialer.DialContext(ctx, s.c.wsURL, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("websocket %s: %w", s.c.wsURL, err)
	}
	s.c.trackWebsocket(conn)
	defer s.c.untrackWebsocket(conn)
	// Reads block; closing the connection is what ends them on cancel.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	conn.SetReadLimit(wsReadLimit)
	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wsWriteTimeout))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil
		}
		return err
	})

	_ = conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	req := map[string]any{
		"jsonrpc": "2.0",
		"id":      subscribeID,
		"method":  "subscribe",
		"params":  map[string]string{"query": newBlockQuery},
	}
	if err := conn.WriteJSON(req); err != nil {
		return fmt.Errorf("websocket %s: subscribe: %w", s.c.wsURL, err)
	}

	// Events may in principle precede the acknowledgement; the catch-up
	// below covers any block delivered before it, so they are dropped.
	for subscribed := false; !subscribed; {
		msg, err := s.read(conn)
		if err != nil {
			return err
		}
		subscribed = string(msg.ID) == strconv.Itoa(subscribeID) && !isEvent(msg.Result)
	}

	latest, err := s.c.Height(ctx)
	if err != nil {
		return err
	}
	if err := s.catchUp(ctx, latest); err != nil {
		return err
	}

	for {
		msg, err := s.read(conn)
		if err != nil {
			return err
		}
		var ev ctypes.ResultEvent
		if err := cmtjson.Unmarshal(msg.Result, &ev); err != nil {
			return fmt.Errorf("websocket %s: decode event: %w", s.c.wsURL, err)
		}
		var data cmttypes.EventDataNewBlock
		switch d := ev.Data.(type) {
		case cmttypes.EventDataNewBlock:
			data = d
		case *cmttypes.EventDataNewBlock:
			if d == nil {
				continue
			}
			data = *d
		default:
			continue // not a block (or another acknowledgement)
		}
		if data.Block == nil {
			continue
		}
		b := makeBlock(data.Block.Height, data.Block.Time, data.ResultFinalizeBlock.Events, data.ResultFinalizeBlock.TxResults)
		if err := s.onLive(ctx, b); err != nil {
			return err
		}
	}
}

// read returns the next JSON-RPC message, or an error for a dead
// connection or a JSON-RPC error (e.g. the node cancelled the subscription
// because we read too slowly).
func (s *stream) read(conn *websocket.Conn) (rpcMessage, error) {
	var msg rpcMessage
	_ = conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
	_, bz, err := conn.ReadMessage()
	if err != nil {
		return msg, fmt.Errorf("websocket %s: %w", s.c.wsURL, err)
	}
	if err := json.Unmarshal(bz, &msg); err != nil {
		return msg, fmt.Errorf("websocket %s: bad message: %w", s.c.wsURL, err)
	}
	if msg.Error != nil {
		return msg, fmt.Errorf("websocket %s: RPC error %d: %s %s", s.c.wsURL, msg.Error.Code, msg.Error.Message, msg.Error.Data)
	}
	return msg, nil
}

// isEvent tells an event notification ({"query":…,"data":…}) from the
// empty result that acknowledges a subscription.
func isEvent(result json.RawMessage) bool {
	var probe struct {
		Data json.RawMessage `json:"data"`
	}
	return json.Unmarshal(result, &probe) == nil && len(probe.Data) > 0 && string(probe.Data) != "null"
}

// onLive delivers a block from the subscription: nothing if it was already
// delivered, the missing heights first if there is a gap.
func (s *stream) onLive(ctx context.Context, b Block) error {
	if b.Height <= s.last {
		return nil
	}
	if err := s.catchUp(ctx, b.Height-1); err != nil {
		return err
	}
	return s.emit(ctx, b)
}

// prunedRe matches CometBFT's answer for a height below its retained range.
var prunedRe = regexp.MustCompile(`height \d+ is not available, lowest height is (\d+)`)

// catchUp fetches and delivers the heights after s.last up to upTo.
func (s *stream) catchUp(ctx context.Context, upTo int64) error {
	for s.last < upTo {
		h := s.last + 1
		b, err := s.fetch(ctx, h)
		if hook := s.c.hooks.fetched; hook != nil {
			hook(h)
		}
		if err != nil {
			if m := prunedRe.FindStringSubmatch(err.Error()); m != nil {
				if lowest, perr := strconv.ParseInt(m[1], 10, 64); perr == nil && lowest > h {
					// The node no longer has these heights; nobody does here.
					s.last = lowest - 1
					continue
				}
			}
			return fmt.Errorf("catch up at height %d: %w", h, err)
		}
		if err := s.emit(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (s *stream) emit(ctx context.Context, b Block) error {
	select {
	case s.out <- b:
		s.last = b.Height
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetchBlock reads one height over RPC.
func (c *Client) fetchBlock(ctx context.Context, height int64) (Block, error) {
	ctx, cancel := c.reqCtx(ctx)
	defer cancel()
	blk, err := c.rpc.Block(ctx, &height)
	if err != nil {
		return Block{}, err
	}
	if blk.Block == nil {
		return Block{}, fmt.Errorf("block %d: empty answer", height)
	}
	res, err := c.rpc.BlockResults(ctx, &height)
	if err != nil {
		return Block{}, err
	}
	return makeBlock(height, blk.Block.Time, res.FinalizeBlockEvents, res.TxsResults), nil
}

// makeBlock flattens a block's events in execution order: the SDK marks
// finalize-block events with a "mode" attribute, and EndBlock's run after
// the transactions, everything else (PreBlock, BeginBlock) before.
func makeBlock(height int64, t time.Time, finalize []abci.Event, txs []*abci.ExecTxResult) Block {
	var before, after []abci.Event
	for _, e := range finalize {
		if eventMode(e) == "EndBlock" {
			after = append(after, e)
		} else {
			before = append(before, e)
		}
	}
	n := len(finalize)
	for _, tx := range txs {
		if tx != nil {
			n += len(tx.Events)
		}
	}
	b := Block{Height: height, Time: t, Events: make([]Event, 0, n)}
	add := func(events []abci.Event) {
		for _, e := range events {
			attrs := make(map[string]string, len(e.Attributes))
			for _, a := range e.Attributes {
				attrs[a.Key] = a.Value
			}
			b.Events = append(b.Events, Event{Type: e.Type, Attributes: attrs})
		}
	}
	add(before)
	for _, tx := range txs {
		if tx != nil {
			add(tx.Events)
		}
	}
	add(after)
	return b
}

func eventMode(e abci.Event) string {
	for _, a := range e.Attributes {
		if a.Key == "mode" {
			return a.Value
		}
	}
	return ""
}

func (c *Client) trackWebsocket(conn *websocket.Conn) {
	c.wsMu.Lock()
	c.wsConns[conn] = struct{}{}
	c.wsMu.Unlock()
}

func (c *Client) untrackWebsocket(conn *websocket.Conn) {
	c.wsMu.Lock()
	delete(c.wsConns, conn)
	c.wsMu.Unlock()
	_ = conn.Close()
}

// dropWebsockets closes every live stream connection; the streams notice,
// reconnect (unless the Client is closing) and catch up.
func (c *Client) dropWebsockets() {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	for conn := range c.wsConns {
		_ = conn.Close()
	}
}
