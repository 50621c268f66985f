package cmd

import (
	"path/filepath"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/server"
	"github.com/cosmos/cosmos-sdk/types/module"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"

	"github.com/meritnet/merit/app"
)

// initCmd is the SDK's init, followed by a rewrite of config.toml: the SDK
// replaces a 1 s commit timeout (CometBFT's default) with 5 s when it first
// writes the file, and Merit wants ~1 s blocks.
func initCmd(basics module.BasicManager) *cobra.Command {
	cmd := genutilcli.InitCmd(basics, app.DefaultNodeHome)
	sdkInit := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := sdkInit(cmd, args); err != nil {
			return err
		}
		cfg := server.GetServerContextFromCmd(cmd).Config
		cfg.Consensus.TimeoutCommit = DefaultBlockTime
		cmtcfg.WriteConfigFile(filepath.Join(cfg.RootDir, "config", "config.toml"), cfg)
		return nil
	}
	return cmd
}
