// Package cmd builds the meritd command tree: the standard Cosmos CLI plus
// autocli commands for Merit's modules.
package cmd

import (
	"errors"
	"fmt"
	"os"
	"strings"

	dbm "github.com/cosmos/cosmos-db"
	"github.com/spf13/cobra"

	"cosmossdk.io/client/v2/autocli"
	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/config"
	"github.com/cosmos/cosmos-sdk/client/debug"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/keys"
	"github.com/cosmos/cosmos-sdk/client/pruning"
	"github.com/cosmos/cosmos-sdk/client/rpc"
	"github.com/cosmos/cosmos-sdk/client/snapshot"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/server"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	authcmd "github.com/cosmos/cosmos-sdk/x/auth/client/cli"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"

	"github.com/meritnet/merit/app"
)

// NewRootCmd returns the whole meritd command tree.
func NewRootCmd() (*cobra.Command, error) {
	set := cliModules()
	return newRootCmd(&set)
}

// NewRootCmdFor returns the command tree that running args needs: commands
// that use no module (version, keys, status, comet, debug) get a tree
// without them, which skips most of the start-up.
func NewRootCmdFor(args []string) (*cobra.Command, error) {
	if needsModules(args) {
		return NewRootCmd()
	}
	return newRootCmd(nil)
}

// lightCommands need only the standard codecs, never a module.
var lightCommands = map[string]bool{"version": true, "keys": true, "status": true, "comet": true, "cometbft": true, "tendermint": true, "debug": true}

// needsModules reports whether the command args name may use the modules:
// anything but a light command, including help and an unrecognised word.
func needsModules(args []string) bool {
	// A flag before the command may take the next word as its value: do
	// not guess which.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return true
	}
	return !lightCommands[args[0]]
}

// newRootCmd builds the tree; set nil leaves out every command that needs
// the modules.
func newRootCmd(set *moduleSet) (*cobra.Command, error) {
	enc := app.MakeEncodingConfig()
	if set != nil {
		enc = set.enc
	}
	initClientCtx := client.Context{}.
		WithCodec(enc.Codec).
		WithInterfaceRegistry(enc.InterfaceRegistry).
		WithTxConfig(enc.TxConfig).
		WithLegacyAmino(enc.Amino).
		WithInput(os.Stdin).
		WithAccountRetriever(authtypes.AccountRetriever{}).
		WithHomeDir(app.DefaultNodeHome).
		WithViper("MERIT")

	root := &cobra.Command{
		Use:   "meritd",
		Short: "Merit: an incentive network for decentralized AI inference",
		Long: `meritd runs a Merit chain node and is the command-line client for it.

Subnets, neurons, stake and weights live on this chain; it runs Yuma Consensus
every tempo and issues MERIT (base denom umerit) as rewards.`,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.OutOrStdout())
			cmd.SetErr(cmd.ErrOrStderr())
			clientCtx, err := client.ReadPersistentCommandFlags(initClientCtx, cmd.Flags())
			if err != nil {
				return err
			}
			clientCtx, err = config.ReadFromClientConfig(clientCtx)
			if err != nil {
				return err
			}
			if err := client.SetCmdClientContextHandler(clientCtx, cmd); err != nil {
				return err
			}
			tmpl, cfg := appConfig()
			return server.InterceptConfigsPreRunHandler(cmd, tmpl, cfg, cometConfig())
		},
	}

	root.AddCommand(debug.Cmd())
	server.AddCommands(root, app.DefaultNodeHome, newApp, exportApp, func(*cobra.Command) {})
	root.AddCommand(server.StatusCommand(), keys.Commands())
	if set != nil {
		addModuleCommands(root, set)
		if err := enhanceWithAutoCLI(root, set, &initClientCtx); err != nil {
			return nil, err
		}
		if tx, _, err := root.Find([]string{"tx"}); err == nil {
			waitForTxs(tx)
		}
	}
	nameArgErrors(root)
	return root, nil
}

// enhanceWithAutoCLI adds the modules' autocli commands. (Autocli needs a
// merged registry of every proto file, ~40 ms of CPU per call: gogoproto's lazy
// hybrid resolver leaves messages of imported files as placeholders, so
// responses would print empty.)
func enhanceWithAutoCLI(root *cobra.Command, set *moduleSet, clientCtx *client.Context) error {
	return autocli.AppOptions{
		Modules:               set.modules,
		AddressCodec:          addresscodec.NewBech32Codec(app.AccountAddressPrefix),
		ValidatorAddressCodec: addresscodec.NewBech32Codec(app.ValidatorAddressPrefix),
		ConsensusAddressCodec: addresscodec.NewBech32Codec(app.ConsNodeAddressPrefix),
		ClientCtx:             *clientCtx,
	}.EnhanceRootCommand(root)
}

// addModuleCommands adds the commands that need the modules' basics or codecs.
func addModuleCommands(root *cobra.Command, set *moduleSet) {
	basics := set.basics
	root.AddCommand(
		initCmd(basics),
		pruning.Cmd(newApp, app.DefaultNodeHome),
		snapshot.Cmd(newApp),
		genutilcli.Commands(set.enc.TxConfig, basics, app.DefaultNodeHome),
		queryCommand(),
		txCommand(),
	)
}

func queryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "query",
		Aliases:                    []string{"q"},
		Short:                      "Query the chain",
		DisableFlagParsing:         false,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(
		rpc.QueryEventForTxCmd(),
		rpc.ValidatorCommand(),
		server.QueryBlockCmd(),
		authcmd.QueryTxsByEventsCmd(),
		server.QueryBlocksCmd(),
		authcmd.QueryTxCmd(),
		server.QueryBlockResultsCmd(),
	)
	return cmd
}

func txCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "tx",
		Short:                      "Build, sign and broadcast transactions",
		DisableFlagParsing:         false,
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(
		authcmd.GetSignCommand(),
		authcmd.GetSignBatchCommand(),
		authcmd.GetMultiSignCommand(),
		authcmd.GetMultiSignBatchCmd(),
		authcmd.GetValidateSignaturesCommand(),
		flags.LineBreak,
		authcmd.GetBroadcastCommand(),
		authcmd.GetEncodeCommand(),
		authcmd.GetDecodeCommand(),
		authcmd.GetSimulateCmd(),
	)
	return cmd
}

func newApp(logger log.Logger, db dbm.DB, appOpts servertypes.AppOptions) servertypes.Application {
	a, err := app.NewMeritApp(logger, db, true, appOpts, server.DefaultBaseappOptions(appOpts)...)
	if err != nil {
		panic(err)
	}
	return a
}

func exportApp(
	logger log.Logger, db dbm.DB, height int64, forZeroHeight bool, jailAllowedAddrs []string,
	appOpts servertypes.AppOptions, modulesToExport []string,
) (servertypes.ExportedApp, error) {
	viperAppOpts, ok := appOpts.(interface{ Set(string, any) })
	if !ok {
		return servertypes.ExportedApp{}, errors.New("app options do not support setting values")
	}
	// Export must not run the invariant checks of a full start.
	viperAppOpts.Set(server.FlagInvCheckPeriod, 1)
	a, err := app.NewMeritApp(logger, db, height == -1, appOpts)
	if err != nil {
		return servertypes.ExportedApp{}, err
	}
	if height != -1 {
		if err := a.LoadHeight(height); err != nil {
			return servertypes.ExportedApp{}, fmt.Errorf("load height %d: %w", height, err)
		}
	}
	return a.ExportAppStateAndValidators(forZeroHeight, jailAllowedAddrs, modulesToExport)
}
