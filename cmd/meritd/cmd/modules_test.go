package cmd

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log/v2"

	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"

	"github.com/meritnet/merit/app"
)

// TestCLIModulesMatchTheApp: the CLI's keeper-free modules are the app's, in
// names, types, registered types, default genesis and the commands they give.
func TestCLIModulesMatchTheApp(t *testing.T) {
	a, err := app.NewMeritApp(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.EmptyAppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, got := appModulesOf(a), cliModules()
	const fix = "keep cliModules (cmd/meritd/cmd/modules.go) in step with app.NewMeritApp's module manager"

	names := func(m map[string]any) []string {
		var out []string
		for n := range m {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	asAny := func(set moduleSet) (mods, basics map[string]any) {
		mods, basics = map[string]any{}, map[string]any{}
		for n, m := range set.modules {
			mods[n] = m
		}
		for n, b := range set.basics {
			basics[n] = b
		}
		return mods, basics
	}
	wm, wb := asAny(want)
	gm, gb := asAny(got)
	if !slices.Equal(names(wm), names(gm)) || !slices.Equal(names(wb), names(gb)) {
		t.Fatalf("modules %v / basics %v, the app has %v / %v: %s", names(gm), names(gb), names(wm), names(wb), fix)
	}
	for n := range wm {
		if reflect.TypeOf(wm[n]) != reflect.TypeOf(gm[n]) || reflect.TypeOf(wb[n]) != reflect.TypeOf(gb[n]) {
			t.Errorf("module %s: %T/%T, the app has %T/%T: %s", n, gm[n], gb[n], wm[n], wb[n], fix)
		}
	}

	wantIfaces, gotIfaces := want.enc.InterfaceRegistry.ListAllInterfaces(), got.enc.InterfaceRegistry.ListAllInterfaces()
	slices.Sort(wantIfaces)
	slices.Sort(gotIfaces)
	if !slices.Equal(wantIfaces, gotIfaces) {
		t.Errorf("interfaces differ: %s", fix)
	}
	for _, iface := range wantIfaces {
		w, g := want.enc.InterfaceRegistry.ListImplementations(iface), got.enc.InterfaceRegistry.ListImplementations(iface)
		slices.Sort(w)
		slices.Sort(g)
		if !slices.Equal(w, g) {
			t.Errorf("implementations of %s differ: %v vs the app's %v: %s", iface, g, w, fix)
		}
	}

	wantGen, err := json.Marshal(want.basics.DefaultGenesis(want.enc.Codec))
	if err != nil {
		t.Fatal(err)
	}
	gotGen, err := json.Marshal(got.basics.DefaultGenesis(got.enc.Codec))
	if err != nil {
		t.Fatal(err)
	}
	if string(wantGen) != string(gotGen) {
		t.Errorf("default genesis differs: %s", fix)
	}

	wantRoot, err := newRootCmd(&want)
	if err != nil {
		t.Fatal(err)
	}
	gotRoot, err := newRootCmd(&got)
	if err != nil {
		t.Fatal(err)
	}
	if w, g := signature(wantRoot), signature(gotRoot); w != g {
		t.Errorf("command trees differ: %s\nCLI:\n%s\napp:\n%s", fix, g, w)
	}
}
