package cmd

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// Autocli parses positional arguments with a flag set whose flags are named by
// position, so a bad argument reads `invalid argument "x" for "--1" flag`.
// nameArgErrors rewrites that into the argument's name from the command's
// usage line, and adds the usage line to a wrong argument count.
func nameArgErrors(root *cobra.Command) {
	walk(root, func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				return namePositionalError(cmd, run(cmd, args))
			}
		}
		if check := c.Args; check != nil && len(argNames(c.Use)) > 0 {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return fmt.Errorf("%w; usage: %s", err, cmd.UseLine())
				}
				return nil
			}
		}
	})
}

var positionalFlagErr = regexp.MustCompile(`^invalid argument "(.*)" for "--(\d+)" flag: (.*)$`)

// namePositionalError names the argument a positional-flag error is about.
func namePositionalError(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	m := positionalFlagErr.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	i, convErr := strconv.Atoi(m[2])
	if convErr != nil {
		return err
	}
	name := fmt.Sprintf("argument %d", i+1)
	if names := argNames(cmd.Use); i < len(names) {
		name = fmt.Sprintf("argument %d [%s]", i+1, names[i])
	}
	return fmt.Errorf("%s: %q %s; usage: %s", name, m[1], describeParseError(m[3]), cmd.UseLine())
}

// describeParseError says what was wrong with a value in words.
func describeParseError(cause string) string {
	switch {
	case strings.Contains(cause, strconv.ErrRange.Error()):
		return "is out of range"
	case strings.HasPrefix(cause, "strconv.ParseUint"):
		return "is not a non-negative integer"
	case strings.HasPrefix(cause, "strconv.ParseInt"):
		return "is not an integer"
	case strings.HasPrefix(cause, "strconv.ParseBool"):
		return "is not true or false"
	}
	return "is invalid: " + cause
}

// argNames reads the argument names from a usage line such as
// "weights [netuid] [uid]" or "send <from> <to> <amount>".
func argNames(use string) []string {
	fields := strings.Fields(use)
	var names []string
	for _, f := range fields[min(1, len(fields)):] {
		f = strings.TrimSuffix(f, "...")
		if f == "[flags]" {
			continue
		}
		if (strings.HasPrefix(f, "[") && strings.HasSuffix(f, "]")) || (strings.HasPrefix(f, "<") && strings.HasSuffix(f, ">")) {
			names = append(names, f[1:len(f)-1])
		}
	}
	return names
}
