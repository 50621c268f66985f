package miner

import (
	"context"
	"errors"
	"fmt"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/internal/daemon"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

const (
	flagOwner   = "owner"
	flagMaxBurn = "max-burn"
)

func registerCommand(dial daemon.Dialer) *cli.Command {
	return &cli.Command{
		Name:  "register",
		Usage: "register the hotkey as a neuron of the subnet (the hotkey signs and pays the burn)",
		Description: "Queries the current registration price first and refuses when it exceeds --max-burn (the chain\n" +
			"enforces the same bound, since the price can rise between the query and the block). The burn is paid\n" +
			"from the hotkey's balance; --owner receives the neuron's rewards and alone may set its take.\n" +
			"Prints the UID and the amount burned.",
		Flags: append(nodeFlags(),
			&cli.StringFlag{
				Name: flagOwner, EnvVars: daemon.EnvOf(flagOwner), Category: categoryRegistration,
				Usage: "owner (coldkey) of the neuron: a merit1… `ADDRESS` or the name of a key in the keyring (required)",
			},
			&cli.StringFlag{
				Name: flagMaxBurn, EnvVars: daemon.EnvOf(flagMaxBurn), Category: categoryRegistration,
				Usage: "most `UMERIT` to burn; registration is refused when the price is higher (required)",
			},
		),
		Before: daemon.ApplyConfigFile,
		Action: func(c *cli.Context) error { return runRegister(c, dial) },
	}
}

func runRegister(c *cli.Context, dial daemon.Dialer) error {
	if c.String(flagOwner) == "" {
		return fmt.Errorf("--%s is required: the address (or key name) that receives the neuron's rewards", flagOwner)
	}
	maxBurn, ok := sdkmath.NewIntFromString(c.String(flagMaxBurn))
	if !ok || maxBurn.IsNegative() {
		return fmt.Errorf("--%s %q must be a non-negative whole number of umerit (check the price with `merit-miner status` or `meritd q subnet registration-price NETUID`)", flagMaxBurn, c.String(flagMaxBurn))
	}
	netuid, err := netuidFlag(c)
	if err != nil {
		return err
	}
	id, err := daemon.LoadHotkey(c, identity.WithCachedKey())
	if err != nil {
		return err
	}
	owner, err := resolveAddress(c, c.String(flagOwner))
	if err != nil {
		return fmt.Errorf("--%s: %w", flagOwner, err)
	}
	ch, err := dialFromFlags(c, dial)
	if err != nil {
		return err
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(c.Context, 2*time.Minute)
	defer cancel()

	if n, err := ch.NeuronByHotkey(ctx, netuid, id.Address()); err == nil {
		fmt.Fprintf(c.App.Writer, "already registered: hotkey %s is uid %d on subnet %d (since block %d)\n", id.Address(), n.Uid, netuid, n.RegisteredAt)
		return nil
	} else if !isNotFound(err) {
		return fmt.Errorf("look up hotkey on subnet %d: %w", netuid, err)
	}
	price, err := ch.RegistrationPrice(ctx, netuid)
	if err != nil {
		if isNotFound(err) {
			return fmt.Errorf("subnet %d does not exist: %w", netuid, err)
		}
		return fmt.Errorf("registration price of subnet %d: %w", netuid, err)
	}
	if price.GT(maxBurn) {
		return fmt.Errorf("registration price on subnet %d is %s umerit, above --%s %s; wait for it to decay or raise --%s",
			netuid, price, flagMaxBurn, maxBurn, flagMaxBurn)
	}
	if bal, err := ch.Balance(ctx, id.Address()); err == nil && bal.LT(price) {
		return fmt.Errorf("hotkey %s holds %s umerit, less than the registration price %s umerit (the hotkey pays the burn)", id.Address(), bal, price)
	}
	msg := &subnettypes.MsgRegisterNeuron{Hotkey: id.Address(), Owner: owner, Netuid: netuid, MaxBurn: maxBurn}
	res, err := ch.Broadcast(ctx, id, msg)
	if err != nil {
		if errors.Is(err, subnettypes.ErrPriceTooHigh) {
			return fmt.Errorf("the price rose above --%s %s before the transaction was included: %w", flagMaxBurn, maxBurn, err)
		}
		return fmt.Errorf("register: %w", err)
	}
	var resp subnettypes.MsgRegisterNeuronResponse
	if err := chain.DecodeResponse(res.Data, &resp); err != nil {
		return fmt.Errorf("registered in tx %s at height %d, but the response did not decode: %w", res.Hash, res.Height, err)
	}
	fmt.Fprintf(c.App.Writer, "registered hotkey %s on subnet %d: uid %d, burned %s umerit, owner %s (tx %s, height %d)\n",
		id.Address(), netuid, resp.Uid, resp.Burned, owner, res.Hash, res.Height)
	if resp.PrunedHotkey != "" {
		fmt.Fprintf(c.App.Writer, "the subnet was full: hotkey %s was pruned to make room\n", resp.PrunedHotkey)
	}
	return nil
}
