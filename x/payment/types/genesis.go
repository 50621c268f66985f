package types

import (
	"fmt"
)

// DefaultGenesis is the module state of a fresh chain: no accounts yet.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextAccountId: 1}
}

// Validate checks the genesis state before it is written to the store.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	if gs.NextAccountId == 0 {
		return fmt.Errorf("next_account_id must be at least 1")
	}
	ids := make(map[uint64]bool, len(gs.Accounts))
	keys := make(map[string]bool, len(gs.Accounts))
	for _, a := range gs.Accounts {
		if a.Id == 0 || a.Id >= gs.NextAccountId {
			return fmt.Errorf("account id %d must be in [1, next_account_id=%d)", a.Id, gs.NextAccountId)
		}
		if ids[a.Id] {
			return fmt.Errorf("account %d listed twice", a.Id)
		}
		ids[a.Id] = true
		if err := ValidateKeyHash(a.KeyHash); err != nil {
			return fmt.Errorf("account %d: %w", a.Id, err)
		}
		if !a.Closing {
			if keys[a.KeyHash] {
				return fmt.Errorf("account %d: key hash %s belongs to two open accounts", a.Id, a.KeyHash)
			}
			keys[a.KeyHash] = true
		}
		for _, f := range []struct {
			name string
			bad  bool
		}{
			{"balance", a.Balance.IsNil() || a.Balance.IsNegative()},
			{"spend_limit_per_epoch", a.SpendLimitPerEpoch.IsNil() || a.SpendLimitPerEpoch.IsNegative()},
			{"epoch_spent", a.EpochSpent.IsNil() || a.EpochSpent.IsNegative()},
			{"totals.deposited", a.Totals.Deposited.IsNil() || a.Totals.Deposited.IsNegative()},
			{"totals.charged", a.Totals.Charged.IsNil() || a.Totals.Charged.IsNegative()},
		} {
			if f.bad {
				return fmt.Errorf("account %d: %s must be a non-negative integer", a.Id, f.name)
			}
		}
		if uint64(len(a.AllowedGateways)) > uint64(gs.Params.MaxGatewaysPerAccount) || a.GatewayCount > gs.Params.MaxGatewaysPerAccount ||
			uint64(len(a.RevokedGateways)) > uint64(gs.Params.MaxGatewaysPerAccount) {
			return fmt.Errorf("account %d: more than max_gateways_per_account gateways", a.Id)
		}
		if a.RevokedUntil < 0 || (a.RevokedAny && len(a.RevokedGateways) > 0) || ((a.RevokedAny || len(a.RevokedGateways) > 0) && a.RevokedUntil == 0) {
			return fmt.Errorf("account %d: revoked gateways need revoked_until > 0, and revoked_any an empty list", a.Id)
		}
	}
	type pair struct {
		id uint64
		gw string
	}
	seen := make(map[pair]bool, len(gs.Settlements))
	for _, s := range gs.Settlements {
		if !ids[s.AccountId] {
			return fmt.Errorf("settlement of %s for unknown account %d", s.Gateway, s.AccountId)
		}
		if seen[pair{s.AccountId, s.Gateway}] {
			return fmt.Errorf("settlement of %s for account %d listed twice", s.Gateway, s.AccountId)
		}
		seen[pair{s.AccountId, s.Gateway}] = true
		if s.Remainder >= TokensPerPrice || s.Charged.IsNil() || s.Charged.IsNegative() || s.Shortfall.IsNil() || s.Shortfall.IsNegative() {
			return fmt.Errorf("settlement of %s for account %d: remainder must be < %d and amounts non-negative", s.Gateway, s.AccountId, TokensPerPrice)
		}
	}
	for _, g := range gs.Gateways {
		if err := ValidateGatewayURL(g.Url, gs.Params.MaxUrlLength); err != nil {
			return fmt.Errorf("gateway %s on subnet %d: %w", g.Hotkey, g.Netuid, err)
		}
	}
	for _, r := range gs.Revenue {
		if r.Charged.IsNil() || r.GatewayFees.IsNil() || r.Burned.IsNil() || r.ToSubnet.IsNil() || r.Shortfall.IsNil() {
			return fmt.Errorf("revenue of subnet %d: amounts must be set", r.Netuid)
		}
	}
	return nil
}
