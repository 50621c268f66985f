// Package cli holds the x/scoring commands autocli cannot generate.
package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"

	"github.com/meritnet/merit/x/scoring/types"
	"github.com/meritnet/merit/x/scoring/yuma"
)

// QueryCmd is the parent of the hand-written scoring queries; autocli adds
// the generated ones beside them.
func QueryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        types.ModuleName,
		Short:                      "Querying commands for the scoring module",
		DisableFlagParsing:         true,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(SimulateCmd())
	return cmd
}

// SimulateCmd runs the chain's epoch code on a scenario file. The epoch is
// pure computation on the scenario (no chain state is read), so it runs in
// the CLI itself and needs no node; --node or --grpc-addr asks that node to
// run it instead (Query/Simulate), e.g. to compare a node's binary with the
// local one across an upgrade.
func SimulateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simulate --file scenario.json",
		Short: "Run Yuma Consensus on a JSON scenario, locally (no node needed)",
		Long: `Runs one epoch of Yuma Consensus, with the code the chain runs, on a scenario you describe,
and prints consensus, incentive, dividends, validator trust, new bonds and the emission split
(JSON: indented with the default --output text, one line with --output json).

No chain state is read, so the epoch runs right here and no node is needed. Pass --node (or
--grpc-addr) to have that node run it instead, through its Query/Simulate endpoint: the result
is the node's binary's, e.g. to compare versions across an upgrade.

The scenario format is documented in docs/yuma.md; "-" reads standard input.`,
		Example: `meritd q scoring simulate --file x/scoring/yuma/testdata/example_scenario.json
cat scenario.json | meritd q scoring simulate --file - --output json
meritd q scoring simulate --file scenario.json --node tcp://localhost:26657`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("file")
			if path == "" {
				return fmt.Errorf("--file is required (a scenario JSON file, or - for stdin)")
			}
			var data []byte
			var err error
			if path == "-" {
				data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxScenarioBytes))
			} else {
				data, err = os.ReadFile(path)
			}
			if err != nil {
				return fmt.Errorf("read scenario: %w", err)
			}
			var result []byte
			if cmd.Flags().Changed(flags.FlagNode) || cmd.Flags().Changed(flags.FlagGRPC) {
				result, err = simulateOnNode(cmd, data)
			} else {
				result, err = yuma.Simulate(data)
			}
			if err != nil {
				return err
			}
			if out, _ := cmd.Flags().GetString(flags.FlagOutput); out != flags.OutputFormatJSON {
				var buf bytes.Buffer
				if err := json.Indent(&buf, result, "", "  "); err == nil {
					result = buf.Bytes()
				}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", result)
			return err
		},
	}
	cmd.Flags().String("file", "", "scenario JSON file, or - for standard input")
	flags.AddQueryFlagsToCmd(cmd)
	// --node selects remote execution, so it has no default here; --height
	// means nothing to a computation that reads no state.
	node := cmd.Flags().Lookup(flags.FlagNode)
	node.Usage = "run the simulation on this node (<host>:<port> of its CometBFT RPC) instead of locally"
	node.DefValue = ""
	_ = node.Value.Set("")
	cmd.Flags().Lookup(flags.FlagGRPC).Usage = "run the simulation on the node at this gRPC endpoint instead of locally"
	_ = cmd.Flags().MarkHidden(flags.FlagHeight)
	return cmd
}

// maxScenarioBytes bounds what simulate reads from standard input.
const maxScenarioBytes = 64 << 20

// simulateOnNode runs the scenario through a node's Query/Simulate.
func simulateOnNode(cmd *cobra.Command, scenario []byte) ([]byte, error) {
	clientCtx, err := client.GetClientQueryContext(cmd)
	if err != nil {
		return nil, err
	}
	res, err := types.NewQueryClient(clientCtx).Simulate(cmd.Context(), &types.QuerySimulateRequest{Scenario: string(scenario)})
	if err != nil {
		return nil, err
	}
	return []byte(res.Result), nil
}
