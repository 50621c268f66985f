package types_test

import (
	"math/rand"
	"reflect"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/payment/types"
)

func TestUsageChargedEventMatchesTyped(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	amt := func() sdkmath.Int { return sdkmath.NewIntFromUint64(r.Uint64()).MulRaw(int64(r.Intn(3))) }
	for i := 0; i < 200; i++ {
		e := &types.EventUsageCharged{
			AccountId: r.Uint64(), Gateway: "merit1\"q<&>\"\\x" + string(rune(r.Intn(0x7f))) + "é", Netuid: r.Uint32(),
			Tokens: r.Uint64(), Requests: uint64(r.Intn(3)), CumulativeTokens: r.Uint64(), CumulativeRequests: r.Uint64(),
			Price: r.Uint64() >> uint(r.Intn(64)), Charged: amt(), Shortfall: amt(), GatewayFee: amt(), Burned: amt(), ToSubnet: amt(), Balance: amt(),
		}
		want, err := sdk.TypedEventToEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.ToEvent(); !reflect.DeepEqual(got, want) {
			t.Fatalf("hand-encoded event differs from the typed one:\n got %v\nwant %v", got, want)
		}
		back, err := sdk.ParseTypedEvent(abci.Event(want))
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip: %v", err)
		}
	}
}
