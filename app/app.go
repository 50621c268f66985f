// Package app wires the Merit chain: the SDK's standard modules plus x/subnet,
// x/scoring and x/emission, with keepers built by hand (no depinject).
package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	abci "github.com/cometbft/cometbft/abci/types"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/spf13/cast"

	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	nodeservice "github.com/cosmos/cosmos-sdk/client/grpc/node"
	"github.com/cosmos/cosmos-sdk/codec"
	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/server"
	"github.com/cosmos/cosmos-sdk/server/api"
	"github.com/cosmos/cosmos-sdk/server/config"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/version"
	"github.com/cosmos/cosmos-sdk/x/auth"
	"github.com/cosmos/cosmos-sdk/x/auth/ante"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/bank"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/consensus"
	consensuskeeper "github.com/cosmos/cosmos-sdk/x/consensus/keeper"
	consensustypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distr "github.com/cosmos/cosmos-sdk/x/distribution"
	distrkeeper "github.com/cosmos/cosmos-sdk/x/distribution/keeper"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	"github.com/cosmos/cosmos-sdk/x/evidence"
	evidencekeeper "github.com/cosmos/cosmos-sdk/x/evidence/keeper"
	evidencetypes "github.com/cosmos/cosmos-sdk/x/evidence/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	"github.com/cosmos/cosmos-sdk/x/gov"
	govclient "github.com/cosmos/cosmos-sdk/x/gov/client"
	govkeeper "github.com/cosmos/cosmos-sdk/x/gov/keeper"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	"github.com/cosmos/cosmos-sdk/x/slashing"
	slashingkeeper "github.com/cosmos/cosmos-sdk/x/slashing/keeper"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	"github.com/cosmos/cosmos-sdk/x/staking"
	stakingkeeper "github.com/cosmos/cosmos-sdk/x/staking/keeper"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
	"github.com/cosmos/cosmos-sdk/x/upgrade"
	upgradekeeper "github.com/cosmos/cosmos-sdk/x/upgrade/keeper"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"

	"github.com/meritnet/merit/x/emission"
	emissionkeeper "github.com/meritnet/merit/x/emission/keeper"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	"github.com/meritnet/merit/x/payment"
	paymentkeeper "github.com/meritnet/merit/x/payment/keeper"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	"github.com/meritnet/merit/x/scoring"
	scoringkeeper "github.com/meritnet/merit/x/scoring/keeper"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	"github.com/meritnet/merit/x/subnet"
	subnetkeeper "github.com/meritnet/merit/x/subnet/keeper"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// DefaultNodeHome is where meritd keeps config and data unless --home says otherwise.
var DefaultNodeHome = func() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ".meritd"
	}
	return filepath.Join(home, ".meritd")
}()

// moduleAccountPerms lists every module account and what it may do with supply.
// x/emission is the only minter: there is no x/mint. It also burns the burn
// share of users' payments, which x/payment hands it with the subnet share.
var moduleAccountPerms = map[string][]string{
	authtypes.FeeCollectorName:     nil,
	distrtypes.ModuleName:          nil,
	stakingtypes.BondedPoolName:    {authtypes.Burner, authtypes.Staking},
	stakingtypes.NotBondedPoolName: {authtypes.Burner, authtypes.Staking},
	govtypes.ModuleName:            {authtypes.Burner},
	subnettypes.ModuleName:         {authtypes.Burner},
	emissiontypes.ModuleName:       {authtypes.Minter, authtypes.Burner},
	paymenttypes.ModuleName:        nil,
}

var (
	_ servertypes.Application = (*MeritApp)(nil)
)

// MeritApp is the chain's ABCI application.
type MeritApp struct {
	*baseapp.BaseApp

	legacyAmino       *codec.LegacyAmino
	appCodec          codec.Codec
	txConfig          client.TxConfig
	interfaceRegistry types.InterfaceRegistry

	AccountKeeper   authkeeper.AccountKeeper
	BankKeeper      bankkeeper.BaseKeeper
	StakingKeeper   *stakingkeeper.Keeper
	SlashingKeeper  slashingkeeper.Keeper
	DistrKeeper     distrkeeper.Keeper
	GovKeeper       *govkeeper.Keeper
	UpgradeKeeper   *upgradekeeper.Keeper
	EvidenceKeeper  evidencekeeper.Keeper
	ConsensusKeeper consensuskeeper.Keeper

	SubnetKeeper   subnetkeeper.Keeper
	ScoringKeeper  scoringkeeper.Keeper
	EmissionKeeper emissionkeeper.Keeper
	PaymentKeeper  paymentkeeper.Keeper

	ModuleManager *module.Manager
	BasicManager  module.BasicManager
	configurator  module.Configurator
}

// NewMeritApp builds the app over db. loadLatest is false only for tools that
// want an unloaded app (e.g. to read module basics for the CLI).
func NewMeritApp(
	logger log.Logger,
	db dbm.DB,
	loadLatest bool,
	appOpts servertypes.AppOptions,
	baseAppOptions ...func(*baseapp.BaseApp),
) (*MeritApp, error) {
	enc := MakeEncodingConfig()
	appCodec, legacyAmino, registry, txConfig := enc.Codec, enc.Amino, enc.InterfaceRegistry, enc.TxConfig

	bApp := baseapp.NewBaseApp(AppName, logger, db, txConfig.TxDecoder(), baseAppOptions...)
	bApp.SetVersion(version.Version)
	bApp.SetInterfaceRegistry(registry)
	bApp.SetTxEncoder(txConfig.TxEncoder())

	keys := storetypes.NewKVStoreKeys(
		authtypes.StoreKey, banktypes.StoreKey, stakingtypes.StoreKey, slashingtypes.StoreKey,
		distrtypes.StoreKey, govtypes.StoreKey, consensustypes.StoreKey, upgradetypes.StoreKey,
		evidencetypes.StoreKey,
		subnettypes.StoreKey, scoringtypes.StoreKey, emissiontypes.StoreKey, paymenttypes.StoreKey,
	)

	app := &MeritApp{
		BaseApp:           bApp,
		legacyAmino:       legacyAmino,
		appCodec:          appCodec,
		txConfig:          txConfig,
		interfaceRegistry: registry,
	}

	govAuthority := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	accCodec := addresscodec.NewBech32Codec(AccountAddressPrefix)
	valCodec := addresscodec.NewBech32Codec(ValidatorAddressPrefix)
	consCodec := addresscodec.NewBech32Codec(ConsNodeAddressPrefix)

	app.ConsensusKeeper = consensuskeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[consensustypes.StoreKey]), govAuthority, runtime.ProvideEventService())
	bApp.SetParamStore(app.ConsensusKeeper.ParamsStore)

	app.AccountKeeper = authkeeper.NewAccountKeeper(
		appCodec, runtime.NewKVStoreService(keys[authtypes.StoreKey]), authtypes.ProtoBaseAccount,
		moduleAccountPerms, accCodec, AccountAddressPrefix, govAuthority,
	)
	app.BankKeeper = bankkeeper.NewBaseKeeper(
		appCodec, runtime.NewKVStoreService(keys[banktypes.StoreKey]), app.AccountKeeper,
		blockedAddresses(), govAuthority, logger,
	)
	app.StakingKeeper = stakingkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[stakingtypes.StoreKey]), app.AccountKeeper, app.BankKeeper,
		govAuthority, valCodec, consCodec,
	)
	app.DistrKeeper = distrkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[distrtypes.StoreKey]), app.AccountKeeper, app.BankKeeper,
		app.StakingKeeper, authtypes.FeeCollectorName, govAuthority,
	)
	app.SlashingKeeper = slashingkeeper.NewKeeper(
		appCodec, legacyAmino, runtime.NewKVStoreService(keys[slashingtypes.StoreKey]), app.StakingKeeper, govAuthority,
	)
	app.StakingKeeper.SetHooks(stakingtypes.NewMultiStakingHooks(app.DistrKeeper.Hooks(), app.SlashingKeeper.Hooks()))

	skipUpgradeHeights := map[int64]bool{}
	for _, h := range cast.ToIntSlice(appOpts.Get(server.FlagUnsafeSkipUpgrades)) {
		skipUpgradeHeights[int64(h)] = true
	}
	homePath := cast.ToString(appOpts.Get("home"))
	app.UpgradeKeeper = upgradekeeper.NewKeeper(
		skipUpgradeHeights, runtime.NewKVStoreService(keys[upgradetypes.StoreKey]), appCodec, homePath, app.BaseApp, govAuthority,
	)

	govConfig := govtypes.DefaultConfig()
	app.GovKeeper = govkeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[govtypes.StoreKey]), app.AccountKeeper, app.BankKeeper,
		app.DistrKeeper, app.MsgServiceRouter(), govConfig, govAuthority,
		govkeeper.NewDefaultCalculateVoteResultsAndVotingPower(app.StakingKeeper),
	)

	app.EvidenceKeeper = *evidencekeeper.NewKeeper(
		appCodec, runtime.NewKVStoreService(keys[evidencetypes.StoreKey]), app.StakingKeeper, app.SlashingKeeper,
		accCodec, runtime.ProvideCometInfoService(),
	)

	var err error
	if app.SubnetKeeper, err = subnetkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[subnettypes.StoreKey]), accCodec, app.BankKeeper, BondDenom, govAuthority); err != nil {
		return nil, err
	}
	if app.ScoringKeeper, err = scoringkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[scoringtypes.StoreKey]), accCodec, app.SubnetKeeper, govAuthority); err != nil {
		return nil, err
	}
	app.SubnetKeeper.SetHooks(app.ScoringKeeper.Hooks())
	if app.EmissionKeeper, err = emissionkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[emissiontypes.StoreKey]), accCodec,
		app.BankKeeper, app.SubnetKeeper, BondDenom, authtypes.FeeCollectorName, subnettypes.ModuleName, govAuthority); err != nil {
		return nil, err
	}
	app.ScoringKeeper.SetEmissionKeeper(app.EmissionKeeper)
	if app.PaymentKeeper, err = paymentkeeper.NewKeeper(appCodec, runtime.NewKVStoreService(keys[paymenttypes.StoreKey]), accCodec,
		app.BankKeeper, app.SubnetKeeper, app.ScoringKeeper, app.EmissionKeeper, BondDenom, emissiontypes.ModuleName, govAuthority); err != nil {
		return nil, err
	}

	app.ModuleManager = module.NewManager(
		genutil.NewAppModule(app.AccountKeeper, app.StakingKeeper, app, txConfig),
		auth.NewAppModule(appCodec, app.AccountKeeper, nil, nil),
		bank.NewAppModule(appCodec, app.BankKeeper, app.AccountKeeper, nil),
		staking.NewAppModule(appCodec, app.StakingKeeper, app.AccountKeeper, app.BankKeeper, nil),
		slashing.NewAppModule(appCodec, app.SlashingKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper, nil, registry),
		distr.NewAppModule(appCodec, app.DistrKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper, nil),
		gov.NewAppModule(appCodec, app.GovKeeper, app.AccountKeeper, app.BankKeeper, nil),
		upgrade.NewAppModule(app.UpgradeKeeper, accCodec),
		evidence.NewAppModule(app.EvidenceKeeper),
		consensus.NewAppModule(appCodec, app.ConsensusKeeper),
		subnet.NewAppModule(app.SubnetKeeper),
		scoring.NewAppModule(app.ScoringKeeper),
		emission.NewAppModule(app.EmissionKeeper),
		payment.NewAppModule(app.PaymentKeeper),
	)
	app.BasicManager = module.NewBasicManagerFromManager(app.ModuleManager, map[string]module.AppModuleBasic{
		genutiltypes.ModuleName: genutil.NewAppModuleBasic(genutiltypes.DefaultMessageValidator),
		govtypes.ModuleName:     gov.NewAppModuleBasic([]govclient.ProposalHandler{}),
	})
	app.BasicManager.RegisterLegacyAminoCodec(legacyAmino)
	app.BasicManager.RegisterInterfaces(registry)

	app.ModuleManager.SetOrderPreBlockers(upgradetypes.ModuleName, authtypes.ModuleName)
	app.ModuleManager.SetOrderBeginBlockers(distrtypes.ModuleName, slashingtypes.ModuleName, evidencetypes.ModuleName, stakingtypes.ModuleName)
	// x/bank must end-block first (SDK v0.54). x/emission runs before x/scoring
	// so the reward of this block is pending when an epoch pays out.
	app.ModuleManager.SetOrderEndBlockers(
		banktypes.ModuleName, govtypes.ModuleName, stakingtypes.ModuleName,
		subnettypes.ModuleName, emissiontypes.ModuleName, scoringtypes.ModuleName, paymenttypes.ModuleName,
	)
	genesisOrder := []string{
		authtypes.ModuleName, banktypes.ModuleName, distrtypes.ModuleName, stakingtypes.ModuleName,
		slashingtypes.ModuleName, govtypes.ModuleName, genutiltypes.ModuleName, evidencetypes.ModuleName,
		upgradetypes.ModuleName, consensustypes.ModuleName,
		subnettypes.ModuleName, scoringtypes.ModuleName, emissiontypes.ModuleName, paymenttypes.ModuleName,
	}
	app.ModuleManager.SetOrderInitGenesis(genesisOrder...)
	app.ModuleManager.SetOrderExportGenesis(genesisOrder...)

	app.configurator = module.NewConfigurator(appCodec, app.MsgServiceRouter(), app.GRPCQueryRouter())
	if err := app.ModuleManager.RegisterServices(app.configurator); err != nil {
		return nil, err
	}
	app.registerUpgradeHandlers()

	app.MountKVStores(keys)

	app.SetInitChainer(app.InitChainer)
	app.SetPreBlocker(app.PreBlocker)
	app.SetBeginBlocker(app.BeginBlocker)
	app.SetEndBlocker(app.EndBlocker)

	anteHandler, err := ante.NewAnteHandler(ante.HandlerOptions{
		AccountKeeper:   app.AccountKeeper,
		BankKeeper:      app.BankKeeper,
		SignModeHandler: txConfig.SignModeHandler(),
		SigGasConsumer:  ante.DefaultSigVerificationGasConsumer,
	})
	if err != nil {
		return nil, fmt.Errorf("ante handler: %w", err)
	}
	app.SetAnteHandler(anteHandler)

	if loadLatest {
		if err := app.LoadLatestVersion(); err != nil {
			return nil, fmt.Errorf("load latest version: %w", err)
		}
	}
	return app, nil
}

// blockedAddresses are module accounts that must not receive plain bank sends,
// so their balances only move by the rules of their module.
func blockedAddresses() map[string]bool {
	blocked := make(map[string]bool, len(moduleAccountPerms))
	for name := range moduleAccountPerms {
		blocked[authtypes.NewModuleAddress(name).String()] = true
	}
	return blocked
}

func (app *MeritApp) PreBlocker(ctx sdk.Context, _ *abci.RequestFinalizeBlock) (*sdk.ResponsePreBlock, error) {
	return app.ModuleManager.PreBlock(ctx)
}

func (app *MeritApp) BeginBlocker(ctx sdk.Context) (sdk.BeginBlock, error) {
	return app.ModuleManager.BeginBlock(ctx)
}

func (app *MeritApp) EndBlocker(ctx sdk.Context) (sdk.EndBlock, error) {
	return app.ModuleManager.EndBlock(ctx)
}

func (app *MeritApp) InitChainer(ctx sdk.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	var state GenesisState
	if err := json.Unmarshal(req.AppStateBytes, &state); err != nil {
		return nil, fmt.Errorf("app state in genesis is not valid JSON: %w", err)
	}
	if err := app.UpgradeKeeper.SetModuleVersionMap(ctx, app.ModuleManager.GetVersionMap()); err != nil {
		return nil, err
	}
	return app.ModuleManager.InitGenesis(ctx, app.appCodec, state)
}

func (app *MeritApp) LoadHeight(height int64) error { return app.LoadVersion(height) }

func (app *MeritApp) LegacyAmino() *codec.LegacyAmino            { return app.legacyAmino }
func (app *MeritApp) AppCodec() codec.Codec                      { return app.appCodec }
func (app *MeritApp) InterfaceRegistry() types.InterfaceRegistry { return app.interfaceRegistry }
func (app *MeritApp) TxConfig() client.TxConfig                  { return app.txConfig }

// AutoCliOpts gives client/v2 autocli every module's options.
func (app *MeritApp) AutoCliOpts() map[string]any {
	out := map[string]any{}
	for name, m := range app.ModuleManager.Modules {
		out[name] = m
	}
	return out
}

func (app *MeritApp) RegisterAPIRoutes(apiSvr *api.Server, _ config.APIConfig) {
	clientCtx := apiSvr.ClientCtx
	authtx.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	cmtservice.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	nodeservice.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	app.BasicManager.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
}

func (app *MeritApp) RegisterTxService(clientCtx client.Context) {
	authtx.RegisterTxService(app.GRPCQueryRouter(), clientCtx, app.Simulate, app.interfaceRegistry)
}

func (app *MeritApp) RegisterTendermintService(clientCtx client.Context) {
	cmtservice.RegisterServiceServer(app.GRPCQueryRouter(),
		cmtservice.NewQueryServer(clientCtx, app.interfaceRegistry, app.Query))
}

func (app *MeritApp) RegisterNodeService(clientCtx client.Context, cfg config.Config) {
	nodeservice.RegisterNodeService(clientCtx, app.GRPCQueryRouter(), cfg, func() int64 {
		return app.CommitMultiStore().EarliestVersion()
	})
}
