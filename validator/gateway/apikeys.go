package gateway

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// APIKeys are the gateway's bearer tokens, read from a file:
//
//	# comment
//	alice  sk-merit-3f9c…        (a name, then the key)
//	sk-merit-77aa…               (a key alone; named by its line)
//
// Only sha256 digests are kept in memory, compared in constant time. The
// file is re-read when it changes (checked at most every few seconds), so
// keys can be added or revoked without a restart.
type APIKeys struct {
	path string

	mu      sync.Mutex
	keys    []apiKey
	modTime time.Time
	size    int64
	checked time.Time
}

type apiKey struct {
	name   string
	digest [32]byte
}

// minKeyLen refuses keys short enough to guess.
const minKeyLen = 16

// reloadEvery bounds how often the file's metadata is looked at.
const reloadEvery = 3 * time.Second

// LoadAPIKeys reads path. It fails on a missing or malformed file.
func LoadAPIKeys(path string) (*APIKeys, error) {
	k := &APIKeys{path: path}
	if err := k.reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Len is the number of keys loaded.
func (k *APIKeys) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

func (k *APIKeys) reload() error {
	st, err := os.Stat(k.path)
	if err != nil {
		return fmt.Errorf("gateway keys: %w", err)
	}
	bz, err := os.ReadFile(k.path)
	if err != nil {
		return fmt.Errorf("gateway keys: %w", err)
	}
	keys, err := parseAPIKeys(bz)
	if err != nil {
		return fmt.Errorf("gateway keys %s: %w", k.path, err)
	}
	k.mu.Lock()
	k.keys, k.modTime, k.size, k.checked = keys, st.ModTime(), st.Size(), time.Now()
	k.mu.Unlock()
	return nil
}

func parseAPIKeys(bz []byte) ([]apiKey, error) {
	var keys []apiKey
	sc := bufio.NewScanner(bytes.NewReader(bz))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		var name, key string
		switch len(f) {
		case 1:
			name, key = fmt.Sprintf("line-%d", line), f[0]
		case 2:
			name, key = f[0], f[1]
		default:
			return nil, fmt.Errorf("line %d: want \"KEY\" or \"NAME KEY\"", line)
		}
		if len(key) < minKeyLen {
			return nil, fmt.Errorf("line %d: key shorter than %d characters", line, minKeyLen)
		}
		keys = append(keys, apiKey{name: name, digest: sha256.Sum256([]byte(key))})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return keys, nil
}

// maybeReload re-reads the file when its size or time changed. A broken
// edit keeps the previous keys (and is reported once per change).
func (k *APIKeys) maybeReload() error {
	k.mu.Lock()
	due := time.Since(k.checked) >= reloadEvery
	if due {
		k.checked = time.Now()
	}
	mod, size := k.modTime, k.size
	k.mu.Unlock()
	if !due {
		return nil
	}
	st, err := os.Stat(k.path)
	if err != nil || (st.ModTime().Equal(mod) && st.Size() == size) {
		return nil
	}
	err = k.reload()
	if err != nil {
		k.mu.Lock()
		k.modTime, k.size = st.ModTime(), st.Size() // do not retry the same broken file
		k.mu.Unlock()
	}
	return err
}

// Check returns the name of the key token matches.
func (k *APIKeys) Check(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	d := sha256.Sum256([]byte(token))
	k.mu.Lock()
	defer k.mu.Unlock()
	name, found := "", 0
	for _, key := range k.keys {
		// Visit every key so timing does not reveal which one matched.
		if subtle.ConstantTimeCompare(d[:], key.digest[:]) == 1 {
			name, found = key.name, 1
		}
	}
	return name, found == 1
}
