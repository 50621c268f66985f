package billing

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// LedgerFile is the ledger's name in the validator's home.
const LedgerFile = "usage.log"

// Usage is what one gateway knows about one account: what it served
// (cumulative, as it will report it), and what the chain last accepted.
type Usage struct {
	Account uint64 `json:"account"`
	// Served counters, cumulative since the gateway first served the
	// account; ServedCost is their price in umerit as metered (the chain's
	// charge may differ when the price changed or a cap applied).
	Tokens     uint64  `json:"served_tokens"`
	Requests   uint64  `json:"served_requests"`
	ServedCost uint64  `json:"served_umerit"`
	Settled    Settled `json:"settled"`
	// Dropped says why the chain will no longer take this account's usage
	// (closed past its grace period, unknown, gateway not allowed); what is
	// unsettled then stays the gateway's loss.
	Dropped string `json:"dropped,omitempty"`
}

// Settled is the chain's record of this gateway's counters for an account,
// as of Height.
type Settled struct {
	Tokens   uint64 `json:"tokens"`
	Requests uint64 `json:"requests"`
	// Remainder is the sub-umerit part carried to the next charge
	// (umerit/10^6 units), as the chain keeps it.
	Remainder uint64 `json:"remainder"`
	Charged   uint64 `json:"charged_umerit"`
	Shortfall uint64 `json:"shortfall_umerit"`
	Height    int64  `json:"height"`
}

// UnsettledTokens is what was served and not yet accepted by the chain.
func (u Usage) UnsettledTokens() uint64 { return sub(u.Tokens, u.Settled.Tokens) }

// Ledger persists the usage of every account this gateway served in an
// append-only file: one line per change, each carrying the account's new
// cumulative values and a checksum. Cumulative lines make the log
// self-healing: any complete line supersedes the ones before it, and a line
// torn by a crash is ignored. A write lands in the kernel before the user
// gets the answer, so killing the process loses nothing served; Sync
// (fsync) runs before counters are ever settled, so the chain never sees
// counters the disk might not keep.
type Ledger struct {
	path string

	mu    sync.Mutex
	owner Owner
	f     *os.File
	usage map[uint64]*Usage
	// unsettled are the accounts with usage to settle (see track): what a
	// gateway looks at every block, among every account it ever served.
	unsettled map[uint64]struct{}
	lines     int // appended since the last compaction
}

// compactAfter bounds the log: past this many lines it is rewritten as one
// line per account.
const compactAfter = 200_000

// Owner is what a ledger's counters belong to: account ids and counters
// mean something only on one chain, for one subnet and gateway hotkey.
type Owner struct {
	ChainID string
	Netuid  uint32
	Gateway string
}

func (o Owner) String() string {
	return fmt.Sprintf("chain %s, subnet %d, gateway %s", o.ChainID, o.Netuid, o.Gateway)
}

// OpenLedger loads (or creates) the ledger in dir and compacts it.
func OpenLedger(dir string) (*Ledger, error) {
	l := &Ledger{path: filepath.Join(dir, LedgerFile)}
	usage, owner, err := readLedger(l.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if usage == nil {
		usage = map[uint64]*Usage{}
	}
	l.usage, l.owner, l.unsettled = usage, owner, map[uint64]struct{}{}
	for _, u := range usage {
		l.track(u)
	}
	if err := l.compact(); err != nil {
		return nil, err
	}
	return l, nil
}

// ReadLedger reads a ledger file without opening it for writing (the
// `usage` command reads the file of a running validator).
func ReadLedger(path string) (map[uint64]*Usage, error) {
	usage, _, err := readLedger(path)
	return usage, err
}

func readLedger(path string) (map[uint64]*Usage, Owner, error) {
	var owner Owner
	f, err := os.Open(path)
	if err != nil {
		return nil, owner, err
	}
	defer f.Close()
	usage := map[uint64]*Usage{}
	r := bufio.NewReaderSize(f, 64<<10)
	for n := 1; ; n++ {
		line, err := r.ReadString('\n')
		if errors.Is(err, io.EOF) {
			return usage, owner, nil // a final line without '\n' was torn by a crash
		}
		if err != nil {
			return nil, owner, fmt.Errorf("ledger %s: %w", path, err)
		}
		if err := apply(usage, &owner, strings.TrimSuffix(line, "\n")); err != nil {
			// Only the tail can be torn; damage inside the file is not
			// something to paper over.
			if _, peekErr := r.Peek(1); errors.Is(peekErr, io.EOF) {
				return usage, owner, nil
			}
			return nil, owner, fmt.Errorf("ledger %s line %d: %w", path, n, err)
		}
	}
}

// Record kinds: o = owner, u = served, s = settled, x = dropped.
func apply(usage map[uint64]*Usage, owner *Owner, line string) error {
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return errors.New("no checksum")
	}
	sum, err := strconv.ParseUint(line[i+1:], 16, 32)
	if err != nil || sum != uint64(crc32.ChecksumIEEE([]byte(line[:i]))) {
		return errors.New("bad checksum")
	}
	f := strings.Fields(line[:i])
	if len(f) == 4 && f[0] == "o" {
		netuid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return err
		}
		*owner = Owner{ChainID: f[1], Netuid: uint32(netuid), Gateway: f[3]}
		return nil
	}
	if len(f) < 3 {
		return errors.New("short record")
	}
	nums := func(want int) ([]uint64, error) {
		if len(f) != want+2 {
			return nil, fmt.Errorf("record %q: want %d fields", f[0], want)
		}
		out := make([]uint64, want)
		for k := range want {
			v, err := strconv.ParseUint(f[k+2], 10, 64)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	}
	id, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return err
	}
	u := usage[id]
	if u == nil {
		u = &Usage{Account: id}
		usage[id] = u
	}
	switch f[0] {
	case "u":
		v, err := nums(3)
		if err != nil {
			return err
		}
		u.Tokens, u.Requests, u.ServedCost = v[0], v[1], v[2]
	case "s":
		v, err := nums(6)
		if err != nil {
			return err
		}
		u.Settled = Settled{Tokens: v[0], Requests: v[1], Remainder: v[2], Charged: v[3], Shortfall: v[4], Height: int64(v[5])}
	case "x":
		u.Dropped = strings.Join(f[2:], " ")
	default:
		return fmt.Errorf("unknown record %q", f[0])
	}
	return nil
}

func ownerLine(o Owner) string {
	return fmt.Sprintf("o %s %d %s", o.ChainID, o.Netuid, o.Gateway)
}

func servedLine(u *Usage) string {
	return fmt.Sprintf("u %d %d %d %d", u.Account, u.Tokens, u.Requests, u.ServedCost)
}

func settledLine(u *Usage) string {
	s := u.Settled
	return fmt.Sprintf("s %d %d %d %d %d %d %d", u.Account, s.Tokens, s.Requests, s.Remainder, s.Charged, s.Shortfall, s.Height)
}

func droppedLine(u *Usage) string {
	return fmt.Sprintf("x %d %s", u.Account, strings.Join(strings.Fields(u.Dropped), " "))
}

func appendLine(b *bytes.Buffer, s string) {
	b.WriteString(s)
	fmt.Fprintf(b, " %08x\n", crc32.ChecksumIEEE([]byte(s)))
}

// compact rewrites the file as one set of lines per account: written to a
// temporary file, synced, renamed over the old one, and the directory
// synced, so a crash leaves either the old file or the new one.
func (l *Ledger) compact() error {
	var b bytes.Buffer
	if l.owner != (Owner{}) {
		appendLine(&b, ownerLine(l.owner))
	}
	for _, id := range l.ids() {
		u := l.usage[id]
		appendLine(&b, servedLine(u))
		appendLine(&b, settledLine(u))
		if u.Dropped != "" {
			appendLine(&b, droppedLine(u))
		}
	}
	tmp := l.path + ".tmp"
	if err := writeSynced(tmp, b.Bytes()); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if err := syncDir(filepath.Dir(l.path)); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if l.f != nil {
		_ = l.f.Close()
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	l.f, l.lines = f, 0
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (l *Ledger) ids() []uint64 {
	ids := make([]uint64, 0, len(l.usage))
	for id := range l.usage {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// write appends lines in one write call, so a crash tears at most the last.
func (l *Ledger) write(lines ...string) error {
	if l.f == nil {
		return fmt.Errorf("ledger %s: closed", l.path)
	}
	var b bytes.Buffer
	for _, s := range lines {
		appendLine(&b, s)
	}
	if _, err := l.f.Write(b.Bytes()); err != nil {
		return fmt.Errorf("ledger %s: %w", l.path, err)
	}
	l.lines += len(lines)
	return nil
}

// Bind ties the ledger to its owner. A new ledger takes the owner; one
// written for another chain, subnet or gateway is refused, because its
// account ids and counters would be charged to whoever holds those ids
// here (a home reused after a chain reset, say).
func (l *Ledger) Bind(o Owner) error {
	if o.ChainID == "" || o.Gateway == "" || strings.ContainsAny(o.ChainID+o.Gateway, " \t\n") {
		return fmt.Errorf("ledger: invalid owner %q", o)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.owner == o:
		return nil
	case l.owner != (Owner{}):
		return fmt.Errorf("%s belongs to %s, not %s: its unsettled usage must not be charged here; move it aside to start a new one", l.path, l.owner, o)
	case len(l.usage) > 0:
		return fmt.Errorf("%s has usage but no owner record: move it aside if it is not from %s", l.path, o)
	}
	l.owner = o
	return l.write(ownerLine(o))
}

// get returns the account's usage, creating it.
func (l *Ledger) get(id uint64) *Usage {
	u := l.usage[id]
	if u == nil {
		u = &Usage{Account: id}
		l.usage[id] = u
	}
	return u
}

// Usage is a copy of one account's usage.
func (l *Ledger) Usage(id uint64) (Usage, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.usage[id]
	if !ok {
		return Usage{Account: id}, false
	}
	return *u, true
}

// track keeps u's place in the unsettled set up to date.
func (l *Ledger) track(u *Usage) {
	if u.Dropped == "" && (u.Tokens > u.Settled.Tokens || u.Requests > u.Settled.Requests) {
		l.unsettled[u.Account] = struct{}{}
	} else {
		delete(l.unsettled, u.Account)
	}
}

// Unsettled is a copy of the usage of every account with usage to settle
// (served beyond what the chain accepted, and not dropped), by account id.
func (l *Ledger) Unsettled() []Usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := slices.Sorted(maps.Keys(l.unsettled))
	out := make([]Usage, len(ids))
	for i, id := range ids {
		out[i] = *l.usage[id]
	}
	return out
}

// All is a copy of every account's usage, by account id.
func (l *Ledger) All() []Usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Usage, 0, len(l.usage))
	for _, id := range l.ids() {
		out = append(out, *l.usage[id])
	}
	return out
}

// serve adds one request's tokens and cost and persists the new counters.
// The counters advance in memory even when the write fails: later lines
// carry them, and only synced counters are ever settled.
func (l *Ledger) serve(id, tokens, cost uint64) (Usage, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.get(id)
	u.Tokens += tokens
	u.Requests++
	u.ServedCost += cost
	l.track(u)
	return *u, l.write(servedLine(u))
}

// settle records what the chain accepted.
func (l *Ledger) settle(id uint64, s Settled) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.get(id)
	u.Settled = s
	// Counters the chain holds are never behind ours: after a lost or
	// replaced home they are the floor to count on from.
	lines := []string{settledLine(u)}
	if s.Tokens > u.Tokens || s.Requests > u.Requests {
		u.Tokens, u.Requests = max(u.Tokens, s.Tokens), max(u.Requests, s.Requests)
		lines = append(lines, servedLine(u))
	}
	l.track(u)
	return l.write(lines...)
}

// drop marks an account the chain will not take usage for any more.
func (l *Ledger) drop(id uint64, reason string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.get(id)
	u.Dropped = reason
	l.track(u)
	return l.write(droppedLine(u))
}

// Sync makes everything written so far durable, and compacts the log when
// it has grown long.
func (l *Ledger) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lines >= compactAfter {
		return l.compact()
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("ledger %s: %w", l.path, err)
	}
	return nil
}

// Close syncs and closes the file.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
