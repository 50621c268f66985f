package validator

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/internal/logthrottle"
	"github.com/meritnet/merit/validator/billing"
	"github.com/meritnet/merit/validator/gateway"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// settler reads the subnet's accounts into the meter, settles what the
// gateway served, and announces the gateway's URL.
type settler struct {
	cfg     PaidConfig
	chain   chain.Chain
	v       *Validator
	meter   *billing.Meter
	book    *chain.Follower[billing.Book]
	metrics *billingMetrics
	log     *zap.Logger
	warn    *logthrottle.Throttle

	lastSettle int64
	announced  string
	nextCheck  int64 // height of the next announcement check
	maxItems   int
	// patches counts the book reads since the last full one.
	patches atomic.Int64
	// onOverhead, if set before Run, also sees every overhead (tests).
	onOverhead func(time.Duration)
}

// The book follows the chain by the accounts each block changed (the
// x/payment events), not by re-reading the subnet's every account: at most
// maxPatchBlocks blocks and maxPatchAccounts accounts at a time (a page of
// the full read costs less beyond that), and a full read every
// fullReadEvery patches all the same.
const (
	maxPatchBlocks   = 20
	maxPatchAccounts = 500
	fullReadEvery    = 100
)

// newSettler opens the ledger in the validator's home.
func newSettler(v *Validator, cfg PaidConfig) (*settler, error) {
	cfg.defaults()
	l, err := billing.OpenLedger(v.cfg.Home)
	if err != nil {
		return nil, err
	}
	if err := l.Bind(billing.Owner{ChainID: v.chain.ChainID(), Netuid: v.cfg.Netuid, Gateway: v.id.Address()}); err != nil {
		_ = l.Close()
		return nil, err
	}
	s := &settler{cfg: cfg, chain: v.chain, v: v, meter: billing.NewMeter(l), metrics: newBillingMetrics(v.metrics.Registry),
		log: v.log.Named("billing"), warn: logthrottle.New(time.Minute), maxItems: 100}
	s.book = chain.NewFollower(v.chain, s.readBook, chain.FollowOptions[billing.Book]{
		Poll: v.cfg.PollInterval,
		OnUpdate: func(b *billing.Book) {
			s.meter.SetBook(b)
		},
		OnError: func(err error) {
			if s.warn.Allow("accounts", time.Now()) {
				s.log.Warn("cannot read the subnet's payment accounts; keeping the last ones", zap.Error(err))
			}
		},
	})
	return s, nil
}

// readBook reads every access account with the subnet's price and epoch.
func (s *settler) readBook(ctx context.Context) (*billing.Book, int64, error) {
	mg := s.v.sync.Current()
	if mg == nil {
		return nil, 0, errors.New("no metagraph yet")
	}
	price, epoch := mg.Hyperparams().PricePerMillionTokens, mg.Epoch
	if prev := s.book.Current(); prev != nil && s.patches.Load() < fullReadEvery {
		ids, height, err := s.chain.PaymentChanges(ctx, prev.Height, maxPatchBlocks)
		switch {
		case err == nil && len(ids) <= maxPatchAccounts:
			found, removed, err := s.chain.PaymentAccountsByID(ctx, ids, height)
			if err != nil {
				return nil, 0, err
			}
			s.patches.Add(1)
			s.metrics.BookReads.WithLabelValues("patch").Inc()
			return prev.Patch(found, removed, price, epoch, height), height, nil
		case err != nil && !errors.Is(err, chain.ErrTooFar):
			return nil, 0, err
		}
	}
	accounts, height, err := s.chain.PaymentAccounts(ctx, s.v.cfg.Netuid)
	if err != nil {
		return nil, 0, err
	}
	s.patches.Store(0)
	s.metrics.BookReads.WithLabelValues("full").Inc()
	return billing.NewBook(accounts, s.v.cfg.Netuid, s.v.id.Address(), price, epoch, height), height, nil
}

// metered is the gateway's report of each paid request.
func (s *settler) metered(r billing.Receipt, err error) {
	s.metrics.Tokens.Add(float64(r.Tokens))
	s.metrics.Metered.Add(float64(r.Cost))
}

// run settles until ctx ends (the validator runs s.book beside it), then settles once
// more so a clean shutdown leaves nothing unreported.
func (s *settler) run(ctx context.Context) {
	s.resyncAll(ctx)
	if p, err := s.chain.PaymentParams(ctx); err == nil && p.MaxSettleItems > 0 {
		s.maxItems = int(min(p.MaxSettleItems, 1000))
	}
	for {
		ch := s.v.sync.Updated()
		if mg := s.v.sync.Current(); mg != nil {
			s.step(ctx, mg)
		}
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			if mg := s.v.sync.Current(); mg != nil && mg.HasPermit() {
				s.settle(sctx, mg)
			}
			cancel()
			return
		case <-ch:
		}
	}
}

// step runs on every new metagraph: announce when due, settle when due.
func (s *settler) step(ctx context.Context, mg *Metagraph) {
	if mg.Height >= s.nextCheck {
		s.announce(ctx, mg)
	}
	unsettled := s.meter.UnsettledCost()
	s.metrics.Unsettled.Set(float64(unsettled))
	if mg.Height-s.lastSettle < int64(s.cfg.SettleEvery) && unsettled < s.cfg.SettleThreshold && !s.meter.DeadlineDue() {
		return
	}
	if !mg.HasPermit() {
		if unsettled > 0 && s.warn.Allow("permit", time.Now()) {
			s.log.Warn("usage waits for settlement: settling needs a validator permit on the subnet", zap.Uint64("unsettled_umerit", unsettled))
		}
		return
	}
	s.lastSettle = mg.Height
	s.settle(ctx, mg)
}

// settle reports every account's counters, in transactions of at most
// maxItems items, until nothing is pending or a transaction fails.
func (s *settler) settle(ctx context.Context, mg *Metagraph) {
	for range 16 { // bounded: the rest waits for the next interval
		if !s.settleBatch(ctx, mg) {
			return
		}
	}
}

// settleBatch sends one settlement transaction; it reports whether more
// may follow (it was applied, and something may still be pending).
func (s *settler) settleBatch(ctx context.Context, mg *Metagraph) bool {
	items, err := s.meter.Pending(s.maxItems)
	if err != nil {
		s.metrics.Settlements.WithLabelValues("failed").Inc()
		s.log.Error("cannot make the usage ledger durable; not settling", zap.Error(err))
		return false
	}
	if len(items) == 0 {
		return false
	}
	msg := &paymenttypes.MsgSettleUsage{Gateway: s.v.id.Address(), Netuid: s.v.cfg.Netuid, Items: items}
	// These accounts keep their view until the result is in the ledger
	// (billing.Meter.Sending).
	ids := make([]uint64, len(items))
	for i, it := range items {
		ids[i] = it.AccountId
	}
	done := s.meter.Sending(ids)
	defer done()
	res, err := s.chain.Broadcast(ctx, s.v.id, msg)
	if err != nil {
		s.metrics.Settlements.WithLabelValues("failed").Inc()
		if ctx.Err() == nil {
			s.log.Warn("settlement failed; the same counters go out next time and are charged once", zap.Int("items", len(items)), zap.Error(err))
		}
		// The transaction may have been included all the same: read
		// what the chain holds rather than guess.
		s.resync(ctx, items)
		return false
	}
	var resp paymenttypes.MsgSettleUsageResponse
	if err := chain.DecodeResponse(res.Data, &resp); err != nil {
		s.log.Warn("settlement included but its result is unreadable; reading the records", zap.Error(err))
		s.resync(ctx, items)
		return false
	}
	s.metrics.Settlements.WithLabelValues("ok").Inc()
	s.applied(ctx, mg, items, &resp, res.Height)
	s.log.Info("usage settled", zap.Int("accounts", len(items)), zap.String("charged_umerit", resp.Charged.String()), zap.Int64("height", res.Height))
	return true
}

// applied writes a settlement's results to the ledger and reads back the
// accounts whose records went stale.
func (s *settler) applied(ctx context.Context, mg *Metagraph, items []paymenttypes.UsageItem, resp *paymenttypes.MsgSettleUsageResponse, height int64) {
	outs, err := s.meter.Applied(items, resp.Results, height, mg.Hyperparams().PricePerMillionTokens)
	if err != nil {
		s.log.Error("settlement applied on chain but not written to the ledger", zap.Error(err))
	}
	var stale []paymenttypes.UsageItem
	for i, o := range outs {
		s.metrics.Settled.Add(float64(o.Charged))
		s.metrics.Shortfall.Add(float64(o.Shortfall))
		switch {
		case o.Resync:
			stale = append(stale, items[i])
		case o.Dropped:
			s.log.Warn("the chain refuses this account's usage; it will not be reported again", zap.Uint64("account", o.Account), zap.String("reason", o.Refused))
		}
	}
	s.resync(ctx, stale)
}

// resync reads the chain's records of items' accounts into the ledger.
func (s *settler) resync(ctx context.Context, items []paymenttypes.UsageItem) {
	for _, it := range items {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		rec, err := s.chain.PaymentSettlement(qctx, s.v.id.Address(), it.AccountId)
		cancel()
		switch {
		case errors.Is(err, chain.ErrNotFound):
		case err != nil:
			s.log.Debug("cannot read a settlement record", zap.Uint64("account", it.AccountId), zap.Error(err))
		default:
			if err := s.meter.SetSettled(rec); err != nil {
				s.log.Error("cannot write a settlement record to the ledger", zap.Error(err))
			}
		}
	}
}

// resyncAll reads the chain's record of every account in the ledger once
// at start: a settlement whose result a crash lost is then known, and a
// home restored from an old copy catches up with what the chain charged.
func (s *settler) resyncAll(ctx context.Context) {
	var items []paymenttypes.UsageItem
	for _, u := range s.meter.Ledger().All() {
		if u.Dropped == "" {
			items = append(items, paymenttypes.UsageItem{AccountId: u.Account})
		}
	}
	s.resync(ctx, items)
}

// announce makes sure the chain lists this gateway at cfg.URL: at start,
// then every announceCheck blocks (a lost registration or another URL set
// from elsewhere is put right).
func (s *settler) announce(ctx context.Context, mg *Metagraph) {
	const announceCheck = 100
	if s.cfg.URL == "" || mg.Self == nil {
		s.nextCheck = mg.Height + announceCheck
		return
	}
	// Also at start: a restarted gateway the chain already lists sends
	// nothing (a quick restart would be refused by the serving rate limit).
	if mg.HasPermit() {
		res, err := s.chain.PaymentGateways(ctx, s.v.cfg.Netuid)
		if err == nil {
			for _, g := range res.Gateways {
				if g.Hotkey == s.v.id.Address() && g.Url == s.cfg.URL {
					s.announced = s.cfg.URL
					s.nextCheck = mg.Height + announceCheck
					return
				}
			}
		}
	}
	if s.announced == s.cfg.URL && !mg.HasPermit() {
		s.nextCheck = mg.Height + announceCheck
		return
	}
	_, err := s.chain.Broadcast(ctx, s.v.id, &paymenttypes.MsgServeGateway{Hotkey: s.v.id.Address(), Netuid: s.v.cfg.Netuid, Url: s.cfg.URL})
	if err != nil {
		// Usually the serving rate limit; try again in a few blocks.
		s.nextCheck = mg.Height + int64(mg.Hyperparams().ServingRateLimit) + 1
		if ctx.Err() == nil && s.warn.Allow("announce", time.Now()) {
			s.log.Warn("cannot announce the gateway on chain; retrying", zap.String("url", s.cfg.URL), zap.Error(err))
		}
		return
	}
	s.announced = s.cfg.URL
	s.nextCheck = mg.Height + announceCheck
	s.log.Info("gateway announced on chain", zap.String("url", s.cfg.URL))
}

// wire connects the gateway to the meter and the billing metrics.
func (s *settler) wire(g *gateway.Config) {
	g.Meter, g.Metered, g.Overhead = s.meter, s.metered, s.overhead
	g.KeyWait = keyWait
}

// keyWait is how long the gateway waits for a key it does not know: the
// time the book follower takes to read a committed block, with margin
// (a key's owner can use it as soon as its CLI says the block included it).
const keyWait = 2 * time.Second

// overhead observes the gateway's own time of one answered request.
func (s *settler) overhead(d time.Duration) {
	s.metrics.Overhead.Observe(d.Seconds())
	if s.onOverhead != nil {
		s.onOverhead(d)
	}
}
