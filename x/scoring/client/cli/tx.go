package cli

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"

	"github.com/meritnet/merit/x/scoring/types"
)

// TxCmd is the parent of the hand-written scoring transactions; autocli adds
// the generated ones beside them.
func TxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        types.ModuleName,
		Short:                      "Scoring transactions",
		DisableFlagParsing:         true,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(CommitWeightsCmd())
	return cmd
}

// ParseUint32List parses "1,2,3".
func ParseUint32List(s string) ([]uint32, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]uint32, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(strings.TrimSpace(p), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a non-negative integer", p)
		}
		out[i] = uint32(v)
	}
	return out, nil
}

// CommitWeightsCmd computes the commit hash of weights locally, from the
// --from key's address, and broadcasts only the hash.
func CommitWeightsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "commit-weights [netuid] [uids] [weights] [salt-hex]",
		Short: "Commit the hash of weights; reveal them later with reveal-weights and the same arguments",
		Long: `Computes sha256 over the canonical encoding of (hotkey, netuid, uids, weights,
salt, version key) — see docs/scoring.md — and broadcasts MsgCommitWeights with
only that hash. Keep the salt: reveal-weights needs the same uids, weights and salt.`,
		Example: `meritd tx scoring commit-weights 1 2,3,4 65535,30000,100 $(openssl rand -hex 16) --from validator
meritd tx scoring reveal-weights 1 2,3,4 65535,30000,100 <same salt> --from validator`,
		Args: cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			netuid, err := strconv.ParseUint(args[0], 10, 16)
			if err != nil {
				return fmt.Errorf("netuid %q: %w", args[0], err)
			}
			uids, err := ParseUint32List(args[1])
			if err != nil {
				return fmt.Errorf("uids: %w", err)
			}
			weights, err := ParseUint32List(args[2])
			if err != nil {
				return fmt.Errorf("weights: %w", err)
			}
			if len(uids) != len(weights) {
				return fmt.Errorf("%d uids but %d weights", len(uids), len(weights))
			}
			salt, err := hex.DecodeString(args[3])
			if err != nil {
				return fmt.Errorf("salt must be hex: %w", err)
			}
			version, _ := cmd.Flags().GetUint64("version-key")
			hotkey := clientCtx.GetFromAddress()
			if hotkey.Empty() {
				return fmt.Errorf("--from is required: the validator hotkey signs the commit")
			}
			msg := &types.MsgCommitWeights{
				Hotkey:     hotkey.String(),
				Netuid:     uint32(netuid),
				CommitHash: types.CommitHash(hotkey, uint32(netuid), uids, weights, salt, version),
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	cmd.Flags().Uint64("version-key", 0, "weights version key to commit to (must be at least the subnet's)")
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}
