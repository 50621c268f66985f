// Package cli holds x/payment's hand-written tx commands.
package cli

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"

	"github.com/meritnet/merit/x/payment/types"
)

const (
	flagNewKey     = "new-key"
	flagKeyFile    = "key-file"
	flagSpendLimit = "spend-limit"
	flagGateways   = "gateways"
	// APIKeyPrefix marks Merit API keys, as "sk-" marks OpenAI's.
	APIKeyPrefix = "sk-merit-"
)

// TxCmd is the parent of x/payment's transactions.
func TxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        types.ModuleName,
		Short:                      "Access accounts: pay for a subnet's service with an API key",
		DisableFlagParsing:         true,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(OpenAccountCmd(), DepositCmd(), UpdateAccountCmd(), CloseAccountCmd(), SettleUsageCmd(), ServeGatewayCmd())
	return cmd
}

// NewAPIKey returns a fresh random API key and its sha256 (hex).
func NewAPIKey() (string, string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	key := APIKeyPrefix + hex.EncodeToString(b[:])
	return key, HashAPIKey(key), nil
}

// HashAPIKey is the key hash the chain stores: lowercase hex sha256 of the key's bytes.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// printKey shows a generated key once, on stderr so that it never mixes with
// the tx output a script parses (scripts use --key-file instead).
func printKey(cmd *cobra.Command, key, hash string) {
	if key == "" {
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "api_key: %s\nkey_hash: %s\nWARNING: the API key is shown only this once and cannot be recovered: store it now.\n", key, hash)
}

// keyFromFlags returns the new key hash, and the key when one was generated.
// required says whether one of the two flags must be given.
func keyFromFlags(cmd *cobra.Command, required bool) (key, hash string, err error) {
	gen, _ := cmd.Flags().GetBool(flagNewKey)
	file, _ := cmd.Flags().GetString(flagKeyFile)
	switch {
	case gen && file != "":
		return "", "", fmt.Errorf("--%s and --%s exclude each other", flagNewKey, flagKeyFile)
	case gen:
		return NewAPIKey()
	case file != "":
		bz, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("--%s: %w", flagKeyFile, err)
		}
		k := strings.TrimSpace(string(bz))
		if k == "" {
			return "", "", fmt.Errorf("--%s: %s is empty", flagKeyFile, file)
		}
		return "", HashAPIKey(k), nil
	case required:
		return "", "", fmt.Errorf("give --%s to generate an API key, or --%s FILE to use one you hold", flagNewKey, flagKeyFile)
	}
	return "", "", nil
}

func parseAmount(name, s string) (sdkmath.Int, error) {
	s = strings.TrimSuffix(s, "umerit")
	v, ok := sdkmath.NewIntFromString(s)
	if !ok || v.IsNegative() {
		return sdkmath.Int{}, fmt.Errorf("%s %q: want a non-negative amount of umerit, e.g. 5000000 or 5000000umerit", name, s)
	}
	return v, nil
}

func parseUint(name, s string, bits int) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want a non-negative integer", name, s)
	}
	return v, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func addAccountFlags(cmd *cobra.Command) {
	cmd.Flags().Bool(flagNewKey, false, "generate a random API key locally, print it once and register only its sha256")
	cmd.Flags().String(flagKeyFile, "", "register the sha256 of the API key in this file (whitespace trimmed)")
	cmd.Flags().String(flagSpendLimit, "", "most umerit charged per subnet epoch (0: no limit)")
	cmd.Flags().String(flagGateways, "", "comma-separated validator hotkeys allowed to charge the account (empty: any gateway of the subnet)")
}

// OpenAccountCmd opens an access account.
func OpenAccountCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "open-account [netuid] [deposit]",
		Short: "Deposit umerit for a subnet's service under a new API key",
		Long: `Opens an access account for one subnet. With --new-key a random API key is generated
locally and printed once: store it, the chain keeps only its sha256. Use the key as the
bearer token (OpenAI api_key) at any gateway of the subnet ('meritd q payment gateways NETUID').`,
		Example: "meritd tx payment open-account 1 5000000umerit --new-key --from alice -y",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			netuid, err := parseUint("netuid", args[0], 32)
			if err != nil {
				return err
			}
			deposit, err := parseAmount("deposit", args[1])
			if err != nil {
				return err
			}
			key, hash, err := keyFromFlags(cmd, true)
			if err != nil {
				return err
			}
			limit := sdkmath.ZeroInt()
			if s, _ := cmd.Flags().GetString(flagSpendLimit); s != "" {
				if limit, err = parseAmount("--"+flagSpendLimit, s); err != nil {
					return err
				}
			}
			gws, _ := cmd.Flags().GetString(flagGateways)
			msg := &types.MsgOpenAccount{
				Payer: clientCtx.GetFromAddress().String(), Netuid: uint32(netuid), KeyHash: hash,
				Deposit: deposit, SpendLimitPerEpoch: limit, AllowedGateways: splitList(gws),
			}
			printKey(cmd, key, hash)
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	addAccountFlags(cmd)
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// DepositCmd tops up an account.
func DepositCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "deposit [account-id] [amount]",
		Short:   "Top up an access account you pay for",
		Example: "meritd tx payment deposit 1 2000000umerit --from alice -y",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			id, err := parseUint("account-id", args[0], 64)
			if err != nil {
				return err
			}
			amount, err := parseAmount("amount", args[1])
			if err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), &types.MsgDeposit{Payer: clientCtx.GetFromAddress().String(), AccountId: id, Amount: amount})
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// UpdateAccountCmd rotates the key, or changes the spend limit or the gateway list.
func UpdateAccountCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update-account [account-id]",
		Short: "Rotate an account's API key, or change its spend limit or allowed gateways",
		Long: `Changes only what is given: --new-key or --key-file rotates the key (the old key stops
working at once), --spend-limit replaces the per-epoch limit (0: none), --gateways replaces
the allowed list (--gateways "" allows any gateway of the subnet). A removed gateway stops
serving the key at once but may still settle what it served for close_grace_blocks.`,
		Example: "meritd tx payment update-account 1 --new-key --spend-limit 1000000 --from alice -y",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			id, err := parseUint("account-id", args[0], 64)
			if err != nil {
				return err
			}
			key, hash, err := keyFromFlags(cmd, false)
			if err != nil {
				return err
			}
			msg := &types.MsgUpdateAccount{Payer: clientCtx.GetFromAddress().String(), AccountId: id, KeyHash: hash, SpendLimitPerEpoch: sdkmath.ZeroInt()}
			if cmd.Flags().Changed(flagSpendLimit) {
				s, _ := cmd.Flags().GetString(flagSpendLimit)
				if msg.SpendLimitPerEpoch, err = parseAmount("--"+flagSpendLimit, s); err != nil {
					return err
				}
				msg.SetSpendLimit = true
			}
			if cmd.Flags().Changed(flagGateways) {
				s, _ := cmd.Flags().GetString(flagGateways)
				msg.AllowedGateways, msg.SetAllowedGateways = splitList(s), true
			}
			if hash == "" && !msg.SetSpendLimit && !msg.SetAllowedGateways {
				return fmt.Errorf("nothing to update: give --%s, --%s, --%s or --%s", flagNewKey, flagKeyFile, flagSpendLimit, flagGateways)
			}
			printKey(cmd, key, hash)
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	addAccountFlags(cmd)
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// CloseAccountCmd closes an account; the balance comes back after the grace period.
func CloseAccountCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "close-account [account-id]",
		Short:   "Stop an account's service now; its balance is refunded after the settlement grace period",
		Example: "meritd tx payment close-account 1 --from alice -y",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			id, err := parseUint("account-id", args[0], 64)
			if err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), &types.MsgCloseAccount{Payer: clientCtx.GetFromAddress().String(), AccountId: id})
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// SettleUsageCmd settles a gateway's cumulative counters by hand. Gateways
// settle on their own; this is for operators and tests.
func SettleUsageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settle-usage [netuid] [account-id:cumulative-tokens:cumulative-requests]...",
		Short: "Settle a gateway's cumulative usage counters (signed by a validator hotkey with a permit)",
		Long: `Each item names an account and the gateway's cumulative token and request counts for it.
The chain charges only the increase over the last settlement of this gateway, at the
subnet's current price, so repeating a settlement charges nothing.`,
		Example: "meritd tx payment settle-usage 1 7:120000:40 9:5000:2 --from my-validator -y",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			netuid, err := parseUint("netuid", args[0], 32)
			if err != nil {
				return err
			}
			msg := &types.MsgSettleUsage{Gateway: clientCtx.GetFromAddress().String(), Netuid: uint32(netuid)}
			for _, a := range args[1:] {
				parts := strings.Split(a, ":")
				if len(parts) != 3 {
					return fmt.Errorf("item %q: want account-id:cumulative-tokens:cumulative-requests", a)
				}
				var v [3]uint64
				for i, name := range []string{"account-id", "cumulative-tokens", "cumulative-requests"} {
					if v[i], err = parseUint(name, parts[i], 64); err != nil {
						return fmt.Errorf("item %q: %w", a, err)
					}
				}
				msg.Items = append(msg.Items, types.UsageItem{AccountId: v[0], CumulativeTokens: v[1], CumulativeRequests: v[2]})
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// ServeGatewayCmd announces or withdraws a gateway URL.
func ServeGatewayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "serve-gateway [netuid] [url]",
		Short:   `Announce the --from validator hotkey's gateway URL on a subnet ("" withdraws it)`,
		Example: "meritd tx payment serve-gateway 1 https://gateway.example.com/v1 --from my-validator -y",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			netuid, err := parseUint("netuid", args[0], 32)
			if err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), &types.MsgServeGateway{Hotkey: clientCtx.GetFromAddress().String(), Netuid: uint32(netuid), Url: args[1]})
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}
