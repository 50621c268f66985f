package devnet_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	. "github.com/onsi/gomega"

	"github.com/meritnet/merit/testutil/localchain"
)

// node is one meritd process of the test network.
type node struct {
	index int
	home  string
	rpc   string
	proc  *localchain.Process
}

type network struct {
	binary string
	root   string
	nodes  []*node
}

func rpcPort(i int) int { return 27000 + 100*i + 57 }

// nodePorts are the fixed loopback ports networks/devnet gives node i:
// REST, P2P, RPC and gRPC.
func nodePorts(i int) []int {
	base := 27000 + 100*i
	return []int{base + 17, base + 56, base + 57, base + 90}
}

// portsFree fails when something already listens where a node of this
// network will. The committed devnet has fixed ports and keys, so a devnet
// left running (make devnet, or a killed test run) would otherwise answer
// for the nodes this suite starts and stops, and every fault spec would
// measure the wrong chain.
func portsFree(nodes int) {
	for i := 0; i < nodes; i++ {
		for _, port := range nodePorts(i) {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			Expect(err).NotTo(HaveOccurred(),
				"port %d is taken: another devnet may be running (make devnet-stop, or pkill meritd) before this suite", port)
			_ = l.Close()
		}
	}
}

// newNetwork copies networks/devnet into a fresh directory (fresh data, the
// committed keys, genesis and configs).
func newNetwork(binary string) *network {
	root, err := os.MkdirTemp("", "merit-devnet-")
	Expect(err).NotTo(HaveOccurred())
	src := filepath.Join(localchain.RepoRoot(), "networks", "devnet")
	n := &network{binary: binary, root: root}
	for i := 0; i < 4; i++ {
		home := filepath.Join(root, fmt.Sprintf("node%d", i))
		Expect(os.MkdirAll(filepath.Join(home, "data"), 0o755)).To(Succeed())
		copyDir(filepath.Join(src, fmt.Sprintf("node%d", i), "config"), filepath.Join(home, "config"))
		Expect(os.WriteFile(filepath.Join(home, "data", "priv_validator_state.json"),
			[]byte(`{"height":"0","round":0,"step":0}`), 0o600)).To(Succeed())
		n.nodes = append(n.nodes, &node{index: i, home: home, rpc: fmt.Sprintf("http://127.0.0.1:%d", rpcPort(i))})
	}
	return n
}

func copyDir(src, dst string) {
	Expect(os.MkdirAll(dst, 0o755)).To(Succeed())
	entries, err := os.ReadDir(src)
	Expect(err).NotTo(HaveOccurred())
	for _, e := range entries {
		bz, err := os.ReadFile(filepath.Join(src, e.Name()))
		Expect(err).NotTo(HaveOccurred())
		Expect(os.WriteFile(filepath.Join(dst, e.Name()), bz, 0o600)).To(Succeed())
	}
}

// start runs the node's meritd. A node that cannot bind its ports exits at
// once; waitHeight reports that with the log.
func (n *network) start(nd *node) {
	proc, err := localchain.StartProcess(n.binary, []string{"start", "--home", nd.home}, filepath.Join(nd.home, "meritd.log"))
	Expect(err).NotTo(HaveOccurred())
	nd.proc = proc
}

func (n *network) startAll() {
	for _, nd := range n.nodes {
		n.start(nd)
	}
}

// stop ends a node gracefully (SIGTERM) or, with kill, like a crash (SIGKILL).
// Once stopped, nothing may answer on the node's RPC port: if something does,
// it is not this node.
func (n *network) stop(nd *node, kill bool) {
	nd.proc.Stop(kill, 15*time.Second)
	Expect(nd.height()).To(BeNumerically("==", -1), "node%d stopped but its RPC port still answers: another process holds it", nd.index)
}

func (n *network) stopAll() {
	for _, nd := range n.nodes {
		nd.proc.Stop(false, 15*time.Second)
	}
	if os.Getenv("KEEP_DEVNET") == "" {
		_ = os.RemoveAll(n.root)
	}
}

func rpcGet(url string, out any) error {
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	bz, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, bz)
	}
	return json.Unmarshal(bz, out)
}

// status is a node's latest and earliest stored heights, -1 when it does
// not answer.
func (nd *node) status() (latest, earliest int64) {
	var st struct {
		Result struct {
			SyncInfo struct {
				LatestBlockHeight   string `json:"latest_block_height"`
				EarliestBlockHeight string `json:"earliest_block_height"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := rpcGet(nd.rpc+"/status", &st); err != nil {
		return -1, -1
	}
	latest, _ = strconv.ParseInt(st.Result.SyncInfo.LatestBlockHeight, 10, 64)
	earliest, _ = strconv.ParseInt(st.Result.SyncInfo.EarliestBlockHeight, 10, 64)
	return latest, earliest
}

func (nd *node) height() int64 {
	h, _ := nd.status()
	return h
}

func (nd *node) earliest() int64 {
	_, h := nd.status()
	return h
}

// header returns (app hash, block hash, time) of a height.
func (nd *node) header(h int64) (string, string, time.Time, error) {
	var b struct {
		Result struct {
			BlockID struct {
				Hash string `json:"hash"`
			} `json:"block_id"`
			Block struct {
				Header struct {
					AppHash string    `json:"app_hash"`
					Time    time.Time `json:"time"`
				} `json:"header"`
			} `json:"block"`
		} `json:"result"`
	}
	if err := rpcGet(fmt.Sprintf("%s/block?height=%d", nd.rpc, h), &b); err != nil {
		return "", "", time.Time{}, err
	}
	return b.Result.Block.Header.AppHash, b.Result.BlockID.Hash, b.Result.Block.Header.Time, nil
}

func (n *network) waitHeight(nd *node, h int64, timeout time.Duration) {
	Eventually(func() int64 {
		if nd.proc != nil && !nd.proc.Running() {
			StopTrying(fmt.Sprintf("node%d exited:\n%s", nd.index, localchain.Tail(nd.proc.Log, 20))).Now()
		}
		return nd.height()
	}, timeout, 200*time.Millisecond).
		Should(BeNumerically(">=", h), "node%d did not reach height %d; log %s", nd.index, h, filepath.Join(nd.home, "meritd.log"))
}

func (n *network) maxHeight(nodes ...*node) int64 {
	var m int64 = -1
	for _, nd := range nodes {
		if h := nd.height(); h > m {
			m = h
		}
	}
	return m
}

// agree checks that every node that has a height reports the same app hash
// and block hash for it, for every height from `from` to `to`.
func (n *network) agree(from, to int64, nodes ...*node) {
	// A node's earliest height moves only by state sync, before it serves.
	earliest := make([]int64, len(nodes))
	for i, nd := range nodes {
		earliest[i] = nd.earliest()
	}
	for h := from; h <= to; h++ {
		var want string
		for i, nd := range nodes {
			if earliest[i] > h {
				continue
			}
			app, hash, _, err := nd.header(h)
			Expect(err).NotTo(HaveOccurred(), "node%d height %d", nd.index, h)
			got := app + "/" + hash
			if want == "" {
				want = got
				continue
			}
			Expect(got).To(Equal(want), "node%d disagrees at height %d", nd.index, h)
		}
	}
}

func setTOML(path string, edits map[string]string) {
	Expect(localchain.SetTOML(path, edits)).To(Succeed())
}
