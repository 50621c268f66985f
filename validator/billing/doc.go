// Package billing is the paid side of a validator's gateway: it admits a
// request when the x/payment account behind its bearer key can pay for it
// at its largest size, meters the tokens it really used into a crash-safe
// ledger of cumulative counters, and turns those counters into
// MsgSettleUsage items. The chain charges only counter increases, so a
// retried, replayed or lost settlement never charges twice. docs/payment.md
// describes what users and operators see.
package billing
