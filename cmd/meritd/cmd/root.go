// Package cmd builds the meritd command tree: the standard Cosmos CLI plus
// autocli commands for Merit's modules.
package cmd

import (
	"errors"
	"fmt"
	"os"

	dbm "github.com/cosmos/cosmos-db"
	"github.com/spf13/cobra"

	"cosmossdk.io/client/v2/autocli"
	"cosmossdk.io/core/appmodule"
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
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	authcmd "github.com/cosmos/cosmos-sdk/x/auth/client/cli"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"

	"github.com/meritnet/merit/app"
)

// NewRootCmd returns the meritd root command.
func NewRootCmd() (*cobra.Command, error) {
	// A throwaway app supplies codecs, module basics and autocli options.
	tmp, err := app.NewMeritApp(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.EmptyAppOptions{})
	if err != nil {
		return nil, err
	}
	initClientCtx := client.Context{}.
		WithCodec(tmp.AppCodec()).
		WithInterfaceRegistry(tmp.InterfaceRegistry()).
		WithTxConfig(tmp.TxConfig()).
		WithLegacyAmino(tmp.LegacyAmino()).
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

	addCommands(root, tmp)

	modules := map[string]appmodule.AppModule{}
	for name, m := range tmp.ModuleManager.Modules {
		if am, ok := m.(appmodule.AppModule); ok {
			modules[name] = am
		}
	}
	autoCli := autocli.AppOptions{
		Modules:               modules,
		AddressCodec:          addresscodec.NewBech32Codec(app.AccountAddressPrefix),
		ValidatorAddressCodec: addresscodec.NewBech32Codec(app.ValidatorAddressPrefix),
		ConsensusAddressCodec: addresscodec.NewBech32Codec(app.ConsNodeAddressPrefix),
		ClientCtx:             initClientCtx,
	}
	if err := autoCli.EnhanceRootCommand(root); err != nil {
		return nil, err
	}
	return root, nil
}

func addCommands(root *cobra.Command, tmp *app.MeritApp) {
	basics := tmp.BasicManager
	root.AddCommand(
		initCmd(basics),
		debug.Cmd(),
		pruning.Cmd(newApp, app.DefaultNodeHome),
		snapshot.Cmd(newApp),
	)
	server.AddCommands(root, app.DefaultNodeHome, newApp, exportApp, func(*cobra.Command) {})
	root.AddCommand(
		server.StatusCommand(),
		genutilcli.Commands(tmp.TxConfig(), basics, app.DefaultNodeHome),
		queryCommand(),
		txCommand(),
		keys.Commands(),
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
