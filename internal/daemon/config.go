package daemon

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

// The config file is read here rather than through urfave's altsrc: altsrc
// also links a TOML parser that is not in this module's go.sum, and the
// rule it implements is short. Keys are flag names; a value applies only
// when the flag was given neither on the command line nor in its MERIT_*
// variable, so the precedence is flag > environment > file > default.

// ApplyConfigFile applies --config FILE to the command's flags; it is the
// Before hook of every command with CommonFlags. The file is JSON (*.json)
// or YAML (*.yaml, *.yml):
//
//	hotkey: miner-hot
//	netuid: 1
//	allow: [merit1…, merit1…]   # a list only for list flags
//
// One file may serve every command of the application: keys that are flags
// of a sibling command are skipped. Any other unknown key is an error, so a
// typo does not pass silently, and so is a key without a value.
func ApplyConfigFile(c *cli.Context) error {
	path := c.String(FlagConfig)
	if path == "" {
		return nil
	}
	path, err := ExpandHome(path)
	if err != nil {
		return fmt.Errorf("--%s: %w", FlagConfig, err)
	}
	values, err := readConfigFile(path)
	if err != nil {
		return err
	}
	own := map[string]cli.Flag{}
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			own[n] = f
		}
	}
	known := allFlagNames(c.App.Commands)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic error messages
	for _, key := range keys {
		if key == FlagConfig {
			return fmt.Errorf("--config %s: %q cannot be set inside a config file", path, key)
		}
		f, ok := own[key]
		if !ok {
			if known[key] {
				continue // a setting of another command sharing the file
			}
			return fmt.Errorf("--config %s: unknown setting %q (keys are %s flag names, e.g. %s, %s)",
				path, key, c.App.Name, FlagHotkey, FlagNetuid)
		}
		if c.IsSet(key) {
			continue
		}
		strs, err := configStrings(values[key])
		if err != nil {
			return fmt.Errorf("--config %s: %s: %w", path, key, err)
		}
		if !isList(f) && len(strs) != 1 {
			return fmt.Errorf("--config %s: %s takes one value, got a list", path, key)
		}
		for _, s := range strs {
			if err := c.Set(key, s); err != nil {
				return fmt.Errorf("--config %s: %s: %w", path, key, err)
			}
		}
	}
	return nil
}

func readConfigFile(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	values := map[string]any{}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		err = json.Unmarshal(raw, &values)
	case ".yaml", ".yml":
		err = yaml.Unmarshal(raw, &values)
	default:
		return nil, fmt.Errorf("--config %s: unknown format; name the file *.json, *.yaml or *.yml", path)
	}
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	return values, nil
}

// isList reports a flag that takes several values (--allow A --allow B),
// the only kind a list in the file may set.
func isList(f cli.Flag) bool {
	l, ok := f.(cli.DocGenerationSliceFlag)
	return ok && l.IsSliceFlag()
}

// configStrings renders a JSON or YAML value as the flag strings it stands
// for; a list gives one string per item.
func configStrings(v any) ([]string, error) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		s, err := configScalar(item)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func configScalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		// JSON numbers arrive as float64; 'f' keeps 1048576 from becoming 1.048576e+06.
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case nil:
		// Refused rather than skipped: `listen:` may mean "empty" or "default",
		// and guessing either hides a mistake. "" says empty; no key, default.
		return "", fmt.Errorf("empty value (write \"\" for an empty string, or leave the key out for the default)")
	default:
		return "", fmt.Errorf("value of type %T is not a string, number, boolean or list of those", v)
	}
}

// allFlagNames lists every flag name of every command and subcommand.
func allFlagNames(cmds []*cli.Command) map[string]bool {
	names := map[string]bool{}
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, cmd := range cmds {
			for _, f := range cmd.Flags {
				for _, n := range f.Names() {
					names[n] = true
				}
			}
			walk(cmd.Subcommands)
		}
	}
	walk(cmds)
	return names
}
