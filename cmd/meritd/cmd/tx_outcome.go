package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
)

// The SDK's sync broadcast returns once the node's mempool accepted a tx, with
// height 0 and no events: it says neither whether the tx made it into a block
// nor what it created. meritd waits for the block and prints that instead.
const (
	inclusionTimeout = time.Minute
	inclusionPoll    = 250 * time.Millisecond
)

// notBroadcasting are tx subcommands that carry the tx flags but only print a
// document (a signature, a signed tx); their output passes through untouched.
var notBroadcasting = map[string]bool{
	"sign": true, "sign-batch": true, "multi-sign": true, "multisign-batch": true,
	"validate-signatures": true, "encode": true, "decode": true, "simulate": true,
}

const waitHelp = `

With the default --broadcast-mode sync, meritd waits until the transaction is in
a block (up to %s) and prints its hash, height and what it created (a netuid,
a UID, …); -o json prints the included transaction as 'meritd q tx' does. It exits
non-zero when the transaction was rejected, failed in its block, or was not
included in time. --broadcast-mode async returns at once with the hash.`

// waitForTxs makes every broadcasting command under tx wait for inclusion.
func waitForTxs(tx *cobra.Command) {
	walk(tx, func(c *cobra.Command) {
		if c.RunE == nil || c.Flags().Lookup(flags.FlagBroadcastMode) == nil || notBroadcasting[c.Name()] {
			return
		}
		run := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error { return runAndWait(cmd, args, run) }
		c.Long = strings.TrimSpace(c.Long+fmt.Sprintf(waitHelp, inclusionTimeout)) + "\n"
	})
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// runAndWait runs a tx command with its output captured as JSON, then waits
// for the tx it broadcast and prints the outcome in the format asked for.
func runAndWait(cmd *cobra.Command, args []string, run func(*cobra.Command, []string) error) error {
	fl := cmd.Flags()
	genOnly, _ := fl.GetBool(flags.FlagGenerateOnly)
	dryRun, _ := fl.GetBool(flags.FlagDryRun)
	offline, _ := fl.GetBool(flags.FlagOffline)
	clientCtx, err := client.GetClientTxContext(cmd)
	if err != nil {
		return err
	}
	if clientCtx.BroadcastMode != flags.BroadcastSync || genOnly || dryRun || offline {
		return run(cmd, args)
	}

	out := cmd.OutOrStdout()
	format := clientCtx.OutputFormat
	// Autocli writes to cmd's out, hand-written commands to the client
	// context's Output; both go through the catcher, as JSON whatever the user
	// asked for, so the response can be read.
	catcher := &responseCatcher{out: out}
	cmd.SetOut(catcher)
	if err := client.SetCmdClientContext(cmd, client.GetClientContextFromCmd(cmd).WithOutput(catcher)); err != nil {
		return err
	}
	if err := fl.Set(flags.FlagOutput, "json"); err != nil {
		return err
	}
	runErr := run(cmd, args)
	cmd.SetOut(out)
	if runErr != nil || catcher.resp == nil {
		// No broadcast (an error, or the user declined at the prompt).
		return runErr
	}
	buf := catcher.resp
	var sent struct {
		TxHash    string `json:"txhash"`
		Code      uint32 `json:"code"`
		Codespace string `json:"codespace"`
		RawLog    string `json:"raw_log"`
	}
	if err := json.Unmarshal(buf, &sent); err != nil {
		return err
	}
	if sent.Code != 0 {
		if format == flags.OutputFormatJSON {
			_, _ = out.Write(append(buf, '\n'))
		} else {
			fmt.Fprintf(out, "txhash: %s\n", sent.TxHash)
		}
		return fmt.Errorf("transaction rejected by the node (code %d, codespace %s): %s", sent.Code, sent.Codespace, sent.RawLog)
	}

	res, err := awaitTx(&clientCtx, sent.TxHash, inclusionTimeout)
	if err != nil {
		if format == flags.OutputFormatJSON {
			_, _ = out.Write(append(buf, '\n'))
		} else {
			fmt.Fprintf(out, "txhash: %s\n", sent.TxHash)
		}
		return err
	}
	if format == flags.OutputFormatJSON {
		if err := clientCtx.WithOutput(out).WithOutputFormat(flags.OutputFormatJSON).PrintProto(res); err != nil {
			return err
		}
	} else {
		printOutcome(out, res)
	}
	if res.Code != 0 {
		return fmt.Errorf("transaction failed in block %d (code %d, codespace %s): %s", res.Height, res.Code, res.Codespace, res.RawLog)
	}
	return nil
}

// responseCatcher forwards what a tx command prints (e.g. the tx shown for
// confirmation before signing) except the broadcast response, which it keeps.
type responseCatcher struct {
	out  io.Writer
	resp []byte
}

func (w *responseCatcher) Write(p []byte) (int, error) {
	if w.resp == nil {
		var r struct {
			TxHash string `json:"txhash"`
		}
		if json.Unmarshal(p, &r) == nil && r.TxHash != "" {
			w.resp = append([]byte{}, p...)
			return len(p), nil
		}
	} else if string(p) == "\n" {
		return len(p), nil // the newline PrintProto adds after JSON
	}
	return w.out.Write(p)
}

// awaitTx polls the node until the tx is in a block.
func awaitTx(clientCtx *client.Context, hash string, timeout time.Duration) (*sdk.TxResponse, error) {
	deadline := time.Now().Add(timeout)
	for {
		res, err := authtx.QueryTx(*clientCtx, hash)
		if err == nil {
			return res, nil
		}
		if !strings.Contains(err.Error(), "not found") {
			return nil, fmt.Errorf("transaction %s: looking it up: %w", hash, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("transaction %s was accepted by the node but is not in a block after %s; look it up later with: meritd q tx %s", hash, timeout, hash)
		}
		time.Sleep(inclusionPoll)
	}
}

// printOutcome writes the outcome of an included tx for a person.
func printOutcome(w io.Writer, res *sdk.TxResponse) {
	fmt.Fprintf(w, "txhash: %s\n", res.TxHash)
	if res.Code != 0 {
		fmt.Fprintf(w, "failed in block %d (gas used %d of %d)\n", res.Height, res.GasUsed, res.GasWanted)
		return
	}
	fmt.Fprintf(w, "included in block %d (gas used %d of %d)\n", res.Height, res.GasUsed, res.GasWanted)
	for _, line := range outcomeLines(res.Events) {
		fmt.Fprintln(w, line)
	}
}

// outcomeLines renders the events txEventLines knows, in table order.
func outcomeLines(events []abci.Event) []string {
	var lines []string
	for _, l := range txEventLines {
		for _, ev := range events {
			if ev.Type != l.Event {
				continue
			}
			attrs := make(map[string]string, len(ev.Attributes))
			for _, a := range ev.Attributes {
				attrs[a.Key] = attrValue(a.Value)
			}
			lines = append(lines, expand(l.Format, attrs))
		}
	}
	return lines
}

// attrValue undoes the JSON encoding typed events give their attributes
// (strings and 64-bit integers arrive quoted).
func attrValue(v string) string {
	var s string
	if strings.HasPrefix(v, `"`) && json.Unmarshal([]byte(v), &s) == nil {
		return s
	}
	return v
}

// errMissingAttr marks a table line naming an attribute the event lacks.
var errMissingAttr = errors.New("missing attribute")

// expand replaces {name} with attrs[name]; an unknown name prints as "?".
func expand(format string, attrs map[string]string) string {
	s, _ := expandStrict(format, attrs)
	return s
}

func expandStrict(format string, attrs map[string]string) (string, error) {
	var b strings.Builder
	var missing error
	for {
		i := strings.IndexByte(format, '{')
		j := strings.IndexByte(format[i+1:], '}')
		if i < 0 || j < 0 {
			b.WriteString(format)
			return b.String(), missing
		}
		b.WriteString(format[:i])
		name := format[i+1 : i+1+j]
		if v, ok := attrs[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString("?")
			missing = fmt.Errorf("%w %q", errMissingAttr, name)
		}
		format = format[i+2+j:]
	}
}
