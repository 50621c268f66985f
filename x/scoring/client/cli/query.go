// Package cli holds the x/scoring commands autocli cannot generate.
package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"

	"github.com/meritnet/merit/x/scoring/types"
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

// SimulateCmd runs the chain's epoch code on a scenario file through the node.
func SimulateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simulate --file scenario.json",
		Short: "Run Yuma Consensus on a JSON scenario (no chain state is read)",
		Long: `Runs the same epoch code the chain runs, on a scenario you describe, and prints
consensus, incentive, dividends, validator trust, new bonds and the emission split.
The scenario format is documented in docs/yuma.md; "-" reads standard input.`,
		Example: `meritd q scoring simulate --file scenario.json --output json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("file")
			if path == "" {
				return fmt.Errorf("--file is required (a scenario JSON file, or - for stdin)")
			}
			var data []byte
			var err error
			if path == "-" {
				data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<20))
			} else {
				data, err = os.ReadFile(path)
			}
			if err != nil {
				return fmt.Errorf("read scenario: %w", err)
			}
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			res, err := types.NewQueryClient(clientCtx).Simulate(cmd.Context(), &types.QuerySimulateRequest{Scenario: string(data)})
			if err != nil {
				return err
			}
			out, _ := cmd.Flags().GetString(flags.FlagOutput)
			if out == flags.OutputFormatJSON {
				cmd.Println(res.Result)
				return nil
			}
			return clientCtx.PrintString(res.Result + "\n")
		},
	}
	cmd.Flags().String("file", "", "scenario JSON file, or - for standard input")
	flags.AddQueryFlagsToCmd(cmd)
	return cmd
}
