// Package incentives is the incentive-soundness suite: attacks on Merit's
// economics run against the chain's own keepers and Yuma code, each test
// printing its measured outcome (docs/incentives.md collects them).
package incentives
