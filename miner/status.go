package miner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/internal/daemon"
)

const flagOutput = "output"

// NeuronStatus is the miner's neuron as the chain sees it (status --output json).
type NeuronStatus struct {
	ChainID      string `json:"chain_id"`
	Block        int64  `json:"block"`
	Netuid       uint32 `json:"netuid"`
	Hotkey       string `json:"hotkey"`
	Registered   bool   `json:"registered"`
	Uid          uint32 `json:"uid"`
	Owner        string `json:"owner,omitempty"`
	RegisteredAt int64  `json:"registered_at,omitempty"`
	Immune       bool   `json:"immune"`
	// Stake and LastEmission are umerit, as decimal strings (they can
	// exceed 2^53).
	Stake           string  `json:"stake"`
	TakeBps         uint32  `json:"take_bps"`
	ValidatorPermit bool    `json:"validator_permit"`
	Incentive       float64 `json:"incentive"`
	Consensus       float64 `json:"consensus"`
	Dividends       float64 `json:"dividends"`
	ValidatorTrust  float64 `json:"validator_trust"`
	LastEmission    string  `json:"last_emission"`
	LastEpoch       uint64  `json:"last_epoch"`
	Endpoint        struct {
		Address         string `json:"address"`
		ProtocolVersion uint32 `json:"protocol_version"`
		ModelID         string `json:"model_id"`
		UpdatedAt       int64  `json:"updated_at"`
	} `json:"endpoint"`
	TaskModelID       string `json:"task_model_id"`
	RegistrationPrice string `json:"registration_price"`
}

func statusCommand(dial daemon.Dialer) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the hotkey's neuron as the chain sees it: uid, stake, incentive, emission, endpoint, permit",
		Flags: append(nodeFlags(),
			&cli.StringFlag{Name: flagOutput, Aliases: []string{"o"}, Value: "text", Category: categoryStatusOutput, EnvVars: daemon.EnvOf(flagOutput),
				Usage: "output `FORMAT`: text or json"},
		),
		Before: daemon.ApplyConfigFile,
		Action: func(c *cli.Context) error { return runStatus(c, dial) },
	}
}

// u16 turns the chain's u16 fractions (65535 = 1) into numbers people read.
func u16(v uint32) float64 { return float64(v) / 65535 }

func runStatus(c *cli.Context, dial daemon.Dialer) error {
	format := c.String(flagOutput)
	if format != "text" && format != "json" {
		return fmt.Errorf("--%s %q: want text or json", flagOutput, format)
	}
	netuid, err := netuidFlag(c)
	if err != nil {
		return err
	}
	id, err := daemon.LoadHotkey(c, identity.WithCachedKey())
	if err != nil {
		return err
	}
	ch, err := dialFromFlags(c, dial)
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(c.Context, 30*time.Second)
	defer cancel()
	mg, err := ch.Metagraph(ctx, netuid)
	if err != nil {
		if isNotFound(err) {
			return fmt.Errorf("subnet %d does not exist: %w", netuid, err)
		}
		return fmt.Errorf("metagraph of subnet %d: %w", netuid, err)
	}
	st := NeuronStatus{
		ChainID: ch.ChainID(), Block: mg.Block, Netuid: netuid, Hotkey: id.Address(),
		TaskModelID: mg.Subnet.Task.ModelID(), RegistrationPrice: mg.RegistrationPrice.String(),
	}
	row := findNeuron(mg, id.Address())
	if row != nil {
		n := row.Neuron
		st.Registered, st.Uid, st.Owner, st.RegisteredAt, st.Immune = true, n.Uid, n.Owner, n.RegisteredAt, row.Immune
		st.Stake, st.TakeBps, st.ValidatorPermit = row.Stake.String(), row.TakeBps, n.ValidatorPermit
		st.Incentive, st.Consensus, st.Dividends, st.ValidatorTrust = u16(n.Incentive), u16(n.Consensus), u16(n.Dividends), u16(n.ValidatorTrust)
		st.LastEmission, st.LastEpoch = n.LastEmission.String(), n.LastEpoch
		st.Endpoint.Address, st.Endpoint.ProtocolVersion, st.Endpoint.ModelID, st.Endpoint.UpdatedAt =
			n.Endpoint.Address, n.Endpoint.ProtocolVersion, n.Endpoint.ModelId, n.Endpoint.UpdatedAt
	}
	w := c.App.Writer
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		printStatus(w, st)
	}
	if !st.Registered {
		return notRegisteredError(id.Address(), netuid)
	}
	return nil
}

func printStatus(out io.Writer, st NeuronStatus) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Fprintf(tw, "chain:\t%s at block %d\n", st.ChainID, st.Block)
	fmt.Fprintf(tw, "subnet:\t%d (task model %s)\n", st.Netuid, st.TaskModelID)
	fmt.Fprintf(tw, "hotkey:\t%s\n", st.Hotkey)
	if !st.Registered {
		fmt.Fprintf(tw, "registered:\tno (registration price now %s umerit)\n", st.RegistrationPrice)
		tw.Flush()
		return
	}
	fmt.Fprintf(tw, "uid:\t%d\n", st.Uid)
	fmt.Fprintf(tw, "owner:\t%s\n", st.Owner)
	fmt.Fprintf(tw, "registered at:\tblock %d (immune: %s)\n", st.RegisteredAt, yes[st.Immune])
	fmt.Fprintf(tw, "stake:\t%s umerit (take %.2f%%)\n", st.Stake, float64(st.TakeBps)/100)
	fmt.Fprintf(tw, "validator permit:\t%s\n", yes[st.ValidatorPermit])
	fmt.Fprintf(tw, "incentive:\t%.4f\n", st.Incentive)
	fmt.Fprintf(tw, "consensus:\t%.4f\n", st.Consensus)
	fmt.Fprintf(tw, "dividends:\t%.4f\n", st.Dividends)
	fmt.Fprintf(tw, "emission:\t%s umerit at epoch %d\n", st.LastEmission, st.LastEpoch)
	if st.Endpoint.Address == "" {
		fmt.Fprintf(tw, "endpoint:\tnone published (run `merit-miner serve`)\n")
	} else {
		fmt.Fprintf(tw, "endpoint:\t%s (protocol %d, updated at block %d)\n", st.Endpoint.Address, st.Endpoint.ProtocolVersion, st.Endpoint.UpdatedAt)
		fmt.Fprintf(tw, "endpoint model:\t%s\n", st.Endpoint.ModelID)
		if st.Endpoint.ModelID != st.TaskModelID {
			fmt.Fprintf(tw, "\tWARNING: differs from the subnet task's model\n")
		}
	}
	tw.Flush()
}
