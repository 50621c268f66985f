// Package cli holds the x/emission commands autocli cannot generate.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"

	"github.com/meritnet/merit/x/emission/sim"
	"github.com/meritnet/merit/x/emission/types"
)

// QueryCmd is the parent of the hand-written emission queries; autocli adds
// the generated ones beside them.
func QueryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        types.ModuleName,
		Short:                      "Querying commands for the emission module",
		DisableFlagParsing:         true,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(SimulateCmd())
	return cmd
}

// SimulateCmd runs a whole network for many blocks on the chain's own
// economics (x/emission/sim), in the CLI: it needs no node.
func SimulateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "simulate --file scenario.json",
		Short: "Simulate many blocks of subnets, stake, weights and users' payments (no node needed)",
		Long: `Runs the chain's halving schedule, stake and revenue EMAs, revenue-weighted split, payment
split and Yuma Consensus at each subnet's epoch over a scenario, and prints what each subnet and
UID earned. The scenario format is in docs/emission.md; fields left out take the chain's defaults.`,
		Example: `meritd q emission simulate --file x/emission/sim/testdata/two_subnets.json
meritd q emission simulate --file scenario.json --blocks 20000 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, _ := cmd.Flags().GetString("file")
			if path == "" {
				return fmt.Errorf("--file is required (use - for standard input)")
			}
			r := cmd.InOrStdin()
			if path != "-" {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			sc, err := sim.Decode(r)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("blocks") {
				sc.Blocks, _ = cmd.Flags().GetUint64("blocks")
			}
			res, err := sim.Run(sc)
			if err != nil {
				return err
			}
			if out, _ := cmd.Flags().GetString("output"); out == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			return printResult(cmd.OutOrStdout(), res)
		},
	}
	cmd.Flags().String("file", "", "scenario JSON file, or - for standard input")
	cmd.Flags().Uint64("blocks", 0, "override the scenario's number of blocks")
	cmd.Flags().StringP("output", "o", "text", "text or json")
	return cmd
}

func printResult(w io.Writer, res sim.Result) error {
	fmt.Fprintf(w, "%d blocks: issued %s umerit, burned %s umerit\n\n", res.Blocks, res.Issued, res.Burned)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "netuid\tname\tepochs\tstake part\trevenue part\tusers paid\towner cut\tshare at end (bps)\t")
	for _, s := range res.Subnets {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t\n", s.Netuid, s.Name, s.Epochs, s.StakePart, s.RevenuePart, s.UsersPaid, s.OwnerCut, s.FinalShareBps)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range res.Subnets {
		fmt.Fprintf(w, "\nsubnet %d (%s), umerit per UID:\n", s.Netuid, s.Name)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "uid\tminer\tvalidator\t")
		for uid := range s.Miner {
			fmt.Fprintf(tw, "%d\t%d\t%d\t\n", uid, s.Miner[uid], s.Validator[uid])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
