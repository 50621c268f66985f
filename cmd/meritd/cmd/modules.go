package cmd

import (
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"

	"cosmossdk.io/core/appmodule"

	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/x/auth"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/bank"
	"github.com/cosmos/cosmos-sdk/x/consensus"
	consensuskeeper "github.com/cosmos/cosmos-sdk/x/consensus/keeper"
	distr "github.com/cosmos/cosmos-sdk/x/distribution"
	distrkeeper "github.com/cosmos/cosmos-sdk/x/distribution/keeper"
	"github.com/cosmos/cosmos-sdk/x/evidence"
	evidencekeeper "github.com/cosmos/cosmos-sdk/x/evidence/keeper"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	"github.com/cosmos/cosmos-sdk/x/gov"
	govclient "github.com/cosmos/cosmos-sdk/x/gov/client"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	"github.com/cosmos/cosmos-sdk/x/slashing"
	slashingkeeper "github.com/cosmos/cosmos-sdk/x/slashing/keeper"
	"github.com/cosmos/cosmos-sdk/x/staking"
	"github.com/cosmos/cosmos-sdk/x/upgrade"

	"github.com/meritnet/merit/app"
	"github.com/meritnet/merit/x/emission"
	emissionkeeper "github.com/meritnet/merit/x/emission/keeper"
	"github.com/meritnet/merit/x/payment"
	paymentkeeper "github.com/meritnet/merit/x/payment/keeper"
	"github.com/meritnet/merit/x/scoring"
	scoringkeeper "github.com/meritnet/merit/x/scoring/keeper"
	"github.com/meritnet/merit/x/subnet"
	subnetkeeper "github.com/meritnet/merit/x/subnet/keeper"
)

// moduleSet is what the CLI needs of the app's modules: codecs with every
// module's types, genesis basics, and the modules autocli reads commands from.
type moduleSet struct {
	enc     app.EncodingConfig
	basics  module.BasicManager
	modules map[string]appmodule.AppModule
}

// cliModules builds the app's modules without keepers, stores or a BaseApp:
// their CLI side (types, genesis, commands) needs none of them, and a
// throwaway app costs every CLI call about twice as much CPU (the SDK's
// NewBaseApp merges every proto file into a new registry). The list mirrors
// app.NewMeritApp's module manager; TestCLIModulesMatchTheApp fails when the
// two differ, in modules, types, genesis or commands: a module added to the
// app is added here too.
func cliModules() moduleSet {
	enc := app.MakeEncodingConfig()
	cdc, txCfg := enc.Codec, enc.TxConfig
	accCodec := addresscodec.NewBech32Codec(app.AccountAddressPrefix)
	// The SDK modules' constructors read the address codec from the account
	// keeper; it needs a store key but never touches a store here.
	ak := authkeeper.NewAccountKeeper(cdc, runtime.NewKVStoreService(storetypes.NewKVStoreKey(authtypes.StoreKey)),
		authtypes.ProtoBaseAccount, nil, accCodec, app.AccountAddressPrefix, authtypes.NewModuleAddress(govtypes.ModuleName).String())

	mm := module.NewManager(
		genutil.NewAppModule(ak, nil, nil, txCfg),
		auth.NewAppModule(cdc, ak, nil, nil),
		bank.NewAppModule(cdc, nil, ak, nil),
		staking.NewAppModule(cdc, nil, ak, nil, nil),
		slashing.NewAppModule(cdc, slashingkeeper.Keeper{}, ak, nil, nil, nil, enc.InterfaceRegistry),
		distr.NewAppModule(cdc, distrkeeper.Keeper{}, ak, nil, nil, nil),
		gov.NewAppModule(cdc, nil, ak, nil, nil),
		upgrade.NewAppModule(nil, accCodec),
		evidence.NewAppModule(evidencekeeper.Keeper{}),
		consensus.NewAppModule(cdc, consensuskeeper.Keeper{}),
		subnet.NewAppModule(subnetkeeper.Keeper{}),
		scoring.NewAppModule(scoringkeeper.Keeper{}),
		emission.NewAppModule(emissionkeeper.Keeper{}),
		payment.NewAppModule(paymentkeeper.Keeper{}),
	)
	basics := module.NewBasicManagerFromManager(mm, map[string]module.AppModuleBasic{
		genutiltypes.ModuleName: genutil.NewAppModuleBasic(genutiltypes.DefaultMessageValidator),
		govtypes.ModuleName:     gov.NewAppModuleBasic([]govclient.ProposalHandler{}),
	})
	basics.RegisterLegacyAminoCodec(enc.Amino)
	basics.RegisterInterfaces(enc.InterfaceRegistry)
	return moduleSet{enc: enc, basics: basics, modules: appModules(mm)}
}

// appModulesOf is the same set read from a built app (for the test).
func appModulesOf(a *app.MeritApp) moduleSet {
	return moduleSet{
		enc:     app.EncodingConfig{InterfaceRegistry: a.InterfaceRegistry(), Codec: a.AppCodec(), TxConfig: a.TxConfig(), Amino: a.LegacyAmino()},
		basics:  a.BasicManager,
		modules: appModules(a.ModuleManager),
	}
}

func appModules(mm *module.Manager) map[string]appmodule.AppModule {
	modules := map[string]appmodule.AppModule{}
	for name, m := range mm.Modules {
		if am, ok := m.(appmodule.AppModule); ok {
			modules[name] = am
		}
	}
	return modules
}
