package types

// EffectiveAt is the hotkey's record as of height: an announced take
// increase whose notice has passed is applied.
func (h HotkeyInfo) EffectiveAt(height int64) HotkeyInfo {
	if h.PendingTakeAt > 0 && height >= h.PendingTakeAt {
		h.TakeBps, h.PendingTakeBps, h.PendingTakeAt = h.PendingTakeBps, 0, 0
	}
	return h
}
