// Package gateway is the validator's OpenAI-compatible endpoint for users:
// it routes each request to the best-scoring available miner, falls back
// to the next on failure, verifies a fraction of the answers against the
// reference model, and serves two kinds of keys: the operator's own (free,
// from a file) and those of the chain's x/payment accounts (metered by
// validator/billing). docs/payment.md describes the paid side.
package gateway
