package keeper_test

import (
	"fmt"
	"testing"
	"time"

	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"

	"github.com/meritnet/merit/x/payment/types"
)

// BenchmarkSettleUsage settles n accounts in one message against a committed
// IAVL store, each item raising its counters (the charging path, not the
// replay no-op). It reports execution time and gas per item; gas is the
// store gas a transaction pays for the message, before signature checks.
func BenchmarkSettleUsage(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			m := newMarket(b, 1_000)
			m.Fund(m.payer, int64(n)*10_000_000)
			items := make([]types.UsageItem, n)
			for i := range items {
				items[i] = item(m.mustOpen(fmt.Sprintf("bench%d", i), 10_000_000), 0, 0)
			}
			m.Commit()
			var gas uint64
			var worst time.Duration
			b.ResetTimer()
			for it := 0; it < b.N; it++ {
				for i := range items {
					items[i].CumulativeTokens += 1_000
					items[i].CumulativeRequests++
				}
				ctx, write := m.Ctx.WithGasMeter(storetypes.NewInfiniteGasMeter()).CacheContext()
				start := time.Now()
				resp, err := m.PaymentMsg.SettleUsage(ctx, &types.MsgSettleUsage{Gateway: m.gw.String(), Netuid: m.netuid, Items: items})
				if d := time.Since(start); d > worst {
					worst = d
				}
				if err != nil || resp.Results[n-1].Refused != "" {
					b.Fatal(err, resp)
				}
				gas = ctx.GasMeter().GasConsumed()
				write()
			}
			b.ReportMetric(float64(gas)/float64(n), "gas/item")
			b.ReportMetric(float64(gas), "gas/msg")
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms/msg")
		})
	}
}
