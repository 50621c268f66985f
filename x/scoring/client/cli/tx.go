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
	cmd.AddCommand(SetWeightsCmd(), CommitWeightsCmd(), RevealWeightsCmd())
	return cmd
}

// weightArgs parses the [netuid] [uids] [weights] arguments all three commands share.
func weightArgs(args []string) (uint32, []uint32, []uint32, error) {
	netuid, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("netuid %q: %w", args[0], err)
	}
	uids, err := ParseUint32List(args[1])
	if err != nil {
		return 0, nil, nil, fmt.Errorf("uids: %w", err)
	}
	weights, err := ParseUint32List(args[2])
	if err != nil {
		return 0, nil, nil, fmt.Errorf("weights: %w", err)
	}
	if len(uids) != len(weights) {
		return 0, nil, nil, fmt.Errorf("%d uids but %d weights", len(uids), len(weights))
	}
	return uint32(netuid), uids, weights, nil
}

// saltAndVersion reads the hex salt argument and the --version-key flag that
// commit-weights and reveal-weights must agree on.
func saltAndVersion(cmd *cobra.Command, saltHex string) ([]byte, uint64, error) {
	salt, err := hex.DecodeString(saltHex)
	if err != nil {
		return nil, 0, fmt.Errorf("salt must be hex: %w", err)
	}
	version, _ := cmd.Flags().GetUint64("version-key")
	return salt, version, nil
}

// SetWeightsCmd sets weights directly on subnets without commit-reveal.
func SetWeightsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "set-weights [netuid] [uids] [weights]",
		Short:   "Set the --from validator's weights (subnets without commit-reveal)",
		Long:    "uids and weights are comma-separated; weights are 0-65535 and are scaled so the largest becomes 65535.",
		Example: "meritd tx scoring set-weights 1 2,3,4 65535,30000,100 --from validator",
		Args:    cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			netuid, uids, weights, err := weightArgs(args)
			if err != nil {
				return err
			}
			version, _ := cmd.Flags().GetUint64("version-key")
			msg := &types.MsgSetWeights{Hotkey: clientCtx.GetFromAddress().String(), Netuid: netuid, Uids: uids, Weights: weights, VersionKey: version}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	cmd.Flags().Uint64("version-key", 0, "weights version key (must be at least the subnet's)")
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// RevealWeightsCmd reveals weights committed with commit-weights.
func RevealWeightsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "reveal-weights [netuid] [uids] [weights] [salt-hex]",
		Short:   "Reveal weights committed with commit-weights, in the reveal window, with the same arguments",
		Example: "meritd tx scoring reveal-weights 1 2,3,4 65535,30000,100 00112233aabbccdd --from validator",
		Args:    cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			netuid, uids, weights, err := weightArgs(args)
			if err != nil {
				return err
			}
			salt, version, err := saltAndVersion(cmd, args[3])
			if err != nil {
				return err
			}
			msg := &types.MsgRevealWeights{Hotkey: clientCtx.GetFromAddress().String(), Netuid: netuid, Uids: uids, Weights: weights, Salt: salt, VersionKey: version}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	cmd.Flags().Uint64("version-key", 0, "the version key used in the commit")
	flags.AddTxFlagsToCmd(cmd)
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
			netuid, uids, weights, err := weightArgs(args)
			if err != nil {
				return err
			}
			salt, version, err := saltAndVersion(cmd, args[3])
			if err != nil {
				return err
			}
			hotkey := clientCtx.GetFromAddress()
			if hotkey.Empty() {
				return fmt.Errorf("--from is required: the validator hotkey signs the commit")
			}
			msg := &types.MsgCommitWeights{
				Hotkey:     hotkey.String(),
				Netuid:     netuid,
				CommitHash: types.CommitHash(hotkey, netuid, uids, weights, salt, version),
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	cmd.Flags().Uint64("version-key", 0, "weights version key to commit to (must be at least the subnet's)")
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}
