package validator

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

// loadConfigFile applies --config FILE to the command's flags. The file is
// JSON (*.json) or YAML (*.yaml, *.yml) with flag names as keys, as for
// merit-miner:
//
//	netuid: 1
//	hotkey: validator
//	probe-interval: 5s
//	gateway-keys: /etc/merit/keys
//
// Precedence is command line, then MERIT_* environment, then the file, then
// the defaults: a value is taken from the file only for flags not set
// otherwise. Keys of other merit-validator commands are skipped (one file
// serves run and status); unknown keys are errors, so a typo does not pass
// silently. (urfave/cli's altsrc would do this, but it links a TOML module
// this repository's go.sum does not carry.)
func loadConfigFile(c *cli.Context) error {
	path := c.String("config")
	if path == "" {
		return nil
	}
	path = expandHome(path)
	bz, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	values := map[string]any{}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		err = json.Unmarshal(bz, &values)
	case ".yaml", ".yml":
		err = yaml.Unmarshal(bz, &values)
	default:
		return fmt.Errorf("--config %s: unknown format; name the file *.json, *.yaml or *.yml", path)
	}
	if err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	own := map[string]bool{}
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			own[n] = true
		}
	}
	known := allFlagNames(c.App.Commands)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic error messages
	for _, k := range keys {
		if k == "config" {
			return fmt.Errorf("--config %s: %q cannot be set inside a config file", path, k)
		}
		if !own[k] {
			if known[k] {
				continue
			}
			return fmt.Errorf("--config %s: unknown setting %q (keys are merit-validator flag names)", path, k)
		}
		if c.IsSet(k) {
			continue
		}
		var s string
		switch v := values[k].(type) {
		case nil:
			continue
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case int:
			s = strconv.Itoa(v)
		case int64:
			s = strconv.FormatInt(v, 10)
		case uint64:
			s = strconv.FormatUint(v, 10)
		case float64:
			// JSON numbers arrive as float64; 'f' keeps 1048576 from becoming 1.048576e+06.
			s = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return fmt.Errorf("--config %s: %q must be a single value, got %T", path, k, v)
		}
		if err := c.Set(k, s); err != nil {
			return fmt.Errorf("--config %s: %q: %w", path, k, err)
		}
	}
	return nil
}

func allFlagNames(cmds []*cli.Command) map[string]bool {
	names := map[string]bool{}
	for _, cmd := range cmds {
		for _, f := range cmd.Flags {
			for _, n := range f.Names() {
				names[n] = true
			}
		}
		for n := range allFlagNames(cmd.Subcommands) {
			names[n] = true
		}
	}
	return names
}

// expandHome turns a leading ~ into the user's home directory.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}
