package types

import "slices"

// Allows says whether the account's allowed list lets gateway serve and
// charge it now (an empty list allows every gateway of the subnet).
func (a Account) Allows(gateway string) bool {
	return len(a.AllowedGateways) == 0 || slices.Contains(a.AllowedGateways, gateway)
}

// MaySettle says whether gateway may settle usage of the account at height:
// it is allowed, or the payer removed it no earlier than close_grace_blocks
// ago. Without the grace a payer could drop a gateway right after being
// served and never pay for it.
func (a Account) MaySettle(gateway string, height int64) bool {
	if a.Allows(gateway) {
		return true
	}
	return height <= a.RevokedUntil && (a.RevokedAny || slices.Contains(a.RevokedGateways, gateway))
}

// SetAllowedGateways replaces the allowed list at height and gives every
// gateway that loses its place until `until` to settle. Removals within a
// running grace add up (a change that removes no one keeps the running
// deadline); past max gateways the grace covers any gateway, which bounds
// the account's size and only ever favours gateways that served, for a
// bounded time.
func (a *Account) SetAllowedGateways(list []string, height, until int64, max uint32) {
	inGrace := height <= a.RevokedUntil
	anyGW := inGrace && a.RevokedAny
	var revoked []string
	deadline := int64(0)
	if inGrace {
		revoked = append(revoked, a.RevokedGateways...)
		deadline = a.RevokedUntil
	}
	removed := false
	if len(a.AllowedGateways) == 0 {
		// Every gateway could serve it until now.
		anyGW, removed = true, true
	}
	for _, gw := range a.AllowedGateways {
		if !slices.Contains(list, gw) {
			removed = true
			if !slices.Contains(revoked, gw) {
				revoked = append(revoked, gw)
			}
		}
	}
	if removed {
		deadline = until
	}
	revoked = slices.DeleteFunc(revoked, func(gw string) bool { return slices.Contains(list, gw) })
	a.AllowedGateways = list
	switch {
	case len(list) == 0:
		// Every gateway is allowed again: nothing to settle by a deadline.
		a.RevokedAny, a.RevokedGateways, a.RevokedUntil = false, nil, 0
	case anyGW || uint64(len(revoked)) > uint64(max):
		a.RevokedAny, a.RevokedGateways, a.RevokedUntil = true, nil, deadline
	case len(revoked) > 0:
		a.RevokedAny, a.RevokedGateways, a.RevokedUntil = false, revoked, deadline
	default:
		a.RevokedAny, a.RevokedGateways, a.RevokedUntil = false, nil, 0
	}
}
