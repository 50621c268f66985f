package daemon

import (
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/chain"
)

func TestEnvOf(t *testing.T) {
	if got := EnvOf("keyring-passphrase-file"); !reflect.DeepEqual(got, []string{"MERIT_KEYRING_PASSPHRASE_FILE"}) {
		t.Fatalf("%v", got)
	}
}

func TestCommonFlags(t *testing.T) {
	flags := CommonFlags("~/.merit-x", FlagUsage{Hotkey: "`NAME` of x's hotkey"})
	byName := map[string]cli.DocGenerationFlag{}
	for _, f := range flags {
		d := f.(cli.DocGenerationFlag)
		byName[f.Names()[0]] = d
		if want := EnvOf(f.Names()[0]); !reflect.DeepEqual(d.GetEnvVars(), want) {
			t.Errorf("--%s env %v, want %v", f.Names()[0], d.GetEnvVars(), want)
		}
		if len(d.GetUsage()) < 10 {
			t.Errorf("--%s has no usage text", f.Names()[0])
		}
	}
	for name, want := range map[string]string{
		FlagHome: "~/.merit-x", FlagKeyringBackend: "os", FlagNetuid: "1", FlagGRPC: chain.DefaultGRPCAddr,
		FlagRPC: chain.DefaultRPCAddr, FlagGasPrice: "0", FlagLogFormat: "console", FlagLogLevel: "info",
	} {
		if got := byName[name].GetValue(); got != want {
			t.Errorf("--%s default %q, want %q", name, got, want)
		}
	}
	for name, want := range map[string]string{
		FlagKeyringDir: CategoryKeys, FlagHotkey: CategoryKeys, FlagChainID: CategoryChain, FlagLogLevel: CategoryLogging,
	} {
		if got := byName[name].(cli.CategorizableFlag).GetCategory(); got != want {
			t.Errorf("--%s category %q, want %q", name, got, want)
		}
	}
	if got := byName[FlagHotkey].GetUsage(); got != "`NAME` of x's hotkey" {
		t.Errorf("--hotkey usage not the daemon's: %q", got)
	}
	if got := byName[FlagNetuid].GetUsage(); !strings.Contains(got, "subnet") {
		t.Errorf("--netuid neutral usage %q", got)
	}
	// Commands must not share flag values: urfave/cli keeps parse state in them.
	if again := CommonFlags("~/.merit-x", FlagUsage{}); again[0] == flags[0] {
		t.Error("CommonFlags returned the same flag twice")
	}
}

func TestChainConfig(t *testing.T) {
	c, err := run(t, "status", "--grpc", "node:9090", "--rpc", "http://node:26657", "--chain-id", "merit-1", "--gas-price", "0.5")
	if err != nil {
		t.Fatal(err)
	}
	want := chain.Config{GRPCAddr: "node:9090", RPCAddr: "http://node:26657", ChainID: "merit-1", GasPrice: "0.5"}
	if got := ChainConfig(c); got != want {
		t.Fatalf("%+v", got)
	}
}
