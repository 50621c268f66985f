package cli

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/internal/daemon"
	"github.com/meritnet/merit/validator/billing"
)

func usageCommand() *cli.Command {
	return &cli.Command{
		Name:  "usage",
		Usage: "show what the gateway served each paid account, and what is settled",
		Description: "Reads the gateway's usage ledger in --home (it works while the validator runs, and without a node). " +
			"Per account: tokens and requests served, the tokens the chain has settled, those still unsettled, " +
			"the umerit metered, charged by the chain and not chargeable (shortfall).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: daemon.FlagHome, Value: defaultHome, Usage: "validator state `DIR`"},
			outputFlag(),
		},
		Action: runUsage,
	}
}

// UsageReport is `usage -o json`.
type UsageReport struct {
	Ledger   string          `json:"ledger"`
	Accounts []billing.Usage `json:"accounts"`
	Totals   UsageTotals     `json:"totals"`
}

// UsageTotals sums the accounts.
type UsageTotals struct {
	Tokens          uint64 `json:"served_tokens"`
	Requests        uint64 `json:"served_requests"`
	UnsettledTokens uint64 `json:"unsettled_tokens"`
	Metered         uint64 `json:"served_umerit"`
	Charged         uint64 `json:"charged_umerit"`
	Shortfall       uint64 `json:"shortfall_umerit"`
}

func runUsage(c *cli.Context) error {
	home, err := daemon.ExpandHome(c.String(daemon.FlagHome))
	if err != nil {
		return err
	}
	path := filepath.Join(home, billing.LedgerFile)
	usage, err := billing.ReadLedger(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no usage ledger at %s: the gateway of a validator with this --home has not run yet", path)
	}
	if err != nil {
		return err
	}
	r := UsageReport{Ledger: path, Accounts: []billing.Usage{}}
	for _, u := range usage {
		r.Accounts = append(r.Accounts, *u)
	}
	slices.SortFunc(r.Accounts, func(a, b billing.Usage) int { return cmp.Compare(a.Account, b.Account) })
	for _, u := range r.Accounts {
		t := &r.Totals
		t.Tokens += u.Tokens
		t.Requests += u.Requests
		t.UnsettledTokens += u.UnsettledTokens()
		t.Metered += u.ServedCost
		t.Charged += u.Settled.Charged
		t.Shortfall += u.Settled.Shortfall
	}
	if c.String("output") == "json" {
		return writeJSON(c.App.Writer, r)
	}
	return printUsage(c.App.Writer, r)
}

func printUsage(w io.Writer, r UsageReport) error {
	fmt.Fprintf(w, "ledger %s\n", r.Ledger)
	if len(r.Accounts) == 0 {
		_, err := fmt.Fprintln(w, "no paid requests served yet")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "account\trequests\ttokens\tsettled tokens\tunsettled tokens\tmetered umerit\tcharged umerit\tshortfall umerit\t\t")
	for _, u := range r.Accounts {
		note := ""
		if u.Dropped != "" {
			note = "dropped: " + u.Dropped
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", u.Account, u.Requests, u.Tokens, u.Settled.Tokens,
			u.UnsettledTokens(), u.ServedCost, u.Settled.Charged, u.Settled.Shortfall, note)
	}
	t := r.Totals
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\t\n", t.Requests, t.Tokens, t.Tokens-t.UnsettledTokens, t.UnsettledTokens, t.Metered, t.Charged, t.Shortfall)
	return tw.Flush()
}
