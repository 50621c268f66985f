package yuma

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// scenarioJSON is the wire form of a simulation scenario. Numbers are kept as
// their decimal text (json.Number) and parsed exactly, without floats.
type scenarioJSON struct {
	Kappa                 *json.Number      `json:"kappa"`
	BondsMovingAverage    *json.Number      `json:"bonds_moving_average"`
	BondsPenalty          *json.Number      `json:"bonds_penalty"`
	MaxValidators         *json.Number      `json:"max_validators"`
	LiquidAlpha           *bool             `json:"liquid_alpha"`
	AlphaLow              *json.Number      `json:"alpha_low"`
	AlphaHigh             *json.Number      `json:"alpha_high"`
	AlphaSigmoidSteepness *json.Number      `json:"alpha_sigmoid_steepness"`
	Stake                 []json.Number     `json:"stake"`
	ValidatorPermit       []*bool           `json:"validator_permit"`
	Active                []*bool           `json:"active"`
	ActivityCutoff        *json.Number      `json:"activity_cutoff,omitempty"`
	Weights               [][][]json.Number `json:"weights"`
	Bonds                 [][][]json.Number `json:"bonds"`
	RegisteredAt          []json.Number     `json:"registered_at"`
	LastUpdate            []json.Number     `json:"last_update"`
	Block                 *json.Number      `json:"block,omitempty"`
	LastEpochBlock        *json.Number      `json:"last_epoch_block"`
	Emission              *json.Number      `json:"emission"`
}

// DefaultScenarioEmission is the emission split when a scenario gives none
// (10^6 base units, 1 MERIT).
const DefaultScenarioEmission = 1_000_000

// DecodeScenario parses a simulation scenario (JSON, see docs/yuma.md) into an
// epoch Input, filling defaults and rejecting malformed or inconsistent
// scenarios with an error naming the offending field. Unknown fields are
// errors. The result passes Input.Validate.
//
// Defaults: kappa 0.5, bonds_moving_average 0.9, bonds_penalty 1,
// max_validators 64, liquid_alpha false, alpha_low 0.7, alpha_high 0.9,
// alpha_sigmoid_steepness 1000, registered_at all 0, block 1 + the largest
// block number given (registered_at, last_update, last_epoch_block),
// last_update all = block, last_epoch_block = block, validator_permit = top
// max_validators by stake, active all true (or, with activity_cutoff,
// last_update + activity_cutoff ≥ block), bonds none, emission 1000000.
func DecodeScenario(data []byte) (Input, error) {
	var s scenarioJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		return Input{}, fmt.Errorf("scenario: invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Input{}, errors.New("scenario: invalid JSON: data after the scenario object")
	}
	in, err := s.toInput()
	if err != nil {
		return Input{}, fmt.Errorf("scenario: %w", err)
	}
	if err := in.Validate(); err != nil {
		return Input{}, fmt.Errorf("scenario: %w", err)
	}
	return in, nil
}

func fixedField(name string, v *json.Number, def Fixed) (Fixed, error) {
	if v == nil {
		return def, nil
	}
	f, err := ParseDecimal(string(*v))
	if err != nil {
		return 0, fmt.Errorf("%s: %q: %w", name, string(*v), err)
	}
	return f, nil
}

func uintField(name string, v *json.Number, def uint64) (uint64, error) {
	if v == nil {
		return def, nil
	}
	u, err := ParseUint(string(*v))
	if err != nil {
		return 0, fmt.Errorf("%s: %q: %w", name, string(*v), err)
	}
	return u, nil
}

func uintList(name string, vs []json.Number, n int) ([]uint64, error) {
	if len(vs) != n {
		return nil, fmt.Errorf("%s has %d entries, stake has %d: lengths differ", name, len(vs), n)
	}
	out := make([]uint64, n)
	for i, v := range vs {
		u, err := ParseUint(string(v))
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %q: %w", name, i, string(v), err)
		}
		out[i] = u
	}
	return out, nil
}

func boolList(name string, vs []*bool, n int) ([]bool, error) {
	if len(vs) != n {
		return nil, fmt.Errorf("%s has %d entries, stake has %d: lengths differ", name, len(vs), n)
	}
	out := make([]bool, n)
	for i, v := range vs {
		if v == nil {
			return nil, fmt.Errorf("%s[%d]: null, want true or false", name, i)
		}
		out[i] = *v
	}
	return out, nil
}

// sparseRows parses [[ [uid, value], ... ], ...]: rows indexed by UID, any
// entry order, no duplicate UIDs; values parsed as Fixed and at most maxValue.
func sparseRows(name string, rows [][][]json.Number, n int, maxValue Fixed) ([][]Entry, error) {
	if len(rows) != n {
		return nil, fmt.Errorf("%s has %d rows, stake has %d: lengths differ", name, len(rows), n)
	}
	out := make([][]Entry, n)
	for i, row := range rows {
		es := make([]Entry, 0, len(row))
		for k, pair := range row {
			if len(pair) != 2 {
				return nil, fmt.Errorf("%s[%d][%d]: want [uid, value], got %d numbers", name, i, k, len(pair))
			}
			uid, err := ParseUint(string(pair[0]))
			if err != nil {
				return nil, fmt.Errorf("%s[%d][%d]: uid %q: %w", name, i, k, string(pair[0]), err)
			}
			if uid >= uint64(n) {
				return nil, fmt.Errorf("%s[%d][%d]: uid %d out of range (%d UIDs)", name, i, k, uid, n)
			}
			v, err := ParseDecimal(string(pair[1]))
			if err != nil {
				return nil, fmt.Errorf("%s[%d][%d]: value %q: %w", name, i, k, string(pair[1]), err)
			}
			if v > maxValue {
				return nil, fmt.Errorf("%s[%d][%d]: value %q above %s", name, i, k, string(pair[1]), maxValue)
			}
			es = append(es, Entry{UID: uint16(uid), Value: v})
		}
		slices.SortStableFunc(es, func(a, b Entry) int { return int(a.UID) - int(b.UID) })
		for k := 1; k < len(es); k++ {
			if es[k].UID == es[k-1].UID {
				return nil, fmt.Errorf("%s[%d]: uid %d appears twice", name, i, es[k].UID)
			}
		}
		out[i] = es
	}
	return out, nil
}

func (s *scenarioJSON) toInput() (Input, error) {
	var in Input
	var err error
	p := DefaultParams()
	if p.Kappa, err = fixedField("kappa", s.Kappa, p.Kappa); err != nil {
		return in, err
	}
	if p.BondsMovingAverage, err = fixedField("bonds_moving_average", s.BondsMovingAverage, p.BondsMovingAverage); err != nil {
		return in, err
	}
	if p.BondsPenalty, err = fixedField("bonds_penalty", s.BondsPenalty, p.BondsPenalty); err != nil {
		return in, err
	}
	mv, err := uintField("max_validators", s.MaxValidators, uint64(p.MaxValidators))
	if err != nil {
		return in, err
	}
	if mv > math.MaxUint32 {
		return in, fmt.Errorf("max_validators %d too large", mv)
	}
	p.MaxValidators = uint32(mv)
	if s.LiquidAlpha != nil {
		p.LiquidAlpha = *s.LiquidAlpha
	}
	if p.AlphaLow, err = fixedField("alpha_low", s.AlphaLow, p.AlphaLow); err != nil {
		return in, err
	}
	if p.AlphaHigh, err = fixedField("alpha_high", s.AlphaHigh, p.AlphaHigh); err != nil {
		return in, err
	}
	if p.AlphaSigmoidSteepness, err = fixedField("alpha_sigmoid_steepness", s.AlphaSigmoidSteepness, p.AlphaSigmoidSteepness); err != nil {
		return in, err
	}
	if err := p.Validate(); err != nil {
		return in, err
	}
	in.Params = p

	if s.Stake == nil {
		return in, errors.New("stake is required")
	}
	n := len(s.Stake)
	if n > MaxUIDs {
		return in, fmt.Errorf("%d UIDs exceeds the maximum %d", n, MaxUIDs)
	}
	if in.Stake, err = uintList("stake", s.Stake, n); err != nil {
		return in, err
	}
	if s.Weights == nil {
		return in, errors.New("weights is required (one row per UID; [] for none)")
	}
	if in.Weights, err = sparseRows("weights", s.Weights, n, Max); err != nil {
		return in, err
	}
	if s.Bonds != nil {
		bonds, err := sparseRows("bonds", s.Bonds, n, One)
		if err != nil {
			return in, err
		}
		in.Bonds = bondRows(bonds)
	}

	// Blocks.
	in.RegisteredAt = make([]uint64, n)
	if s.RegisteredAt != nil {
		if in.RegisteredAt, err = uintList("registered_at", s.RegisteredAt, n); err != nil {
			return in, err
		}
	}
	var lastUpdate []uint64
	if s.LastUpdate != nil {
		if lastUpdate, err = uintList("last_update", s.LastUpdate, n); err != nil {
			return in, err
		}
	}
	lastEpoch, err := uintField("last_epoch_block", s.LastEpochBlock, 0)
	if err != nil {
		return in, err
	}
	var block uint64
	if s.Block != nil {
		if block, err = uintField("block", s.Block, 0); err != nil {
			return in, err
		}
	} else {
		var hi uint64
		for _, b := range in.RegisteredAt {
			hi = max(hi, b)
		}
		for _, b := range lastUpdate {
			hi = max(hi, b)
		}
		if s.LastEpochBlock != nil {
			hi = max(hi, lastEpoch)
		}
		if hi == math.MaxUint64 {
			return in, errors.New("block numbers too large")
		}
		block = hi + 1
	}
	for i, b := range in.RegisteredAt {
		if b > block {
			return in, fmt.Errorf("registered_at[%d] = %d is after block %d", i, b, block)
		}
	}
	for i, b := range lastUpdate {
		if b > block {
			return in, fmt.Errorf("last_update[%d] = %d is after block %d", i, b, block)
		}
	}
	if lastUpdate == nil {
		lastUpdate = make([]uint64, n)
		for i := range lastUpdate {
			lastUpdate[i] = block
		}
	}
	in.LastUpdate = lastUpdate
	if s.LastEpochBlock == nil {
		lastEpoch = block
	} else if lastEpoch > block {
		return in, fmt.Errorf("last_epoch_block %d is after block %d", lastEpoch, block)
	}
	in.LastEpochBlock = lastEpoch

	// Permits and activity.
	if s.ValidatorPermit != nil {
		if in.Permit, err = boolList("validator_permit", s.ValidatorPermit, n); err != nil {
			return in, err
		}
	} else {
		in.Permit = TopStakePermits(in.Stake, p.MaxValidators)
	}
	switch {
	case s.Active != nil && s.ActivityCutoff != nil:
		return in, errors.New("give either active or activity_cutoff, not both")
	case s.Active != nil:
		if in.Active, err = boolList("active", s.Active, n); err != nil {
			return in, err
		}
	case s.ActivityCutoff != nil:
		cutoff, err := uintField("activity_cutoff", s.ActivityCutoff, 0)
		if err != nil {
			return in, err
		}
		in.Active = ActiveByCutoff(in.LastUpdate, block, cutoff)
	default:
		in.Active = make([]bool, n)
		for i := range in.Active {
			in.Active[i] = true
		}
	}

	if in.Emission, err = uintField("emission", s.Emission, DefaultScenarioEmission); err != nil {
		return in, err
	}
	return in, nil
}

// scenarioOutputJSON is the wire form of a simulation result.
type scenarioOutputJSON struct {
	Consensus           []json.Number      `json:"consensus"`
	Incentive           []json.Number      `json:"incentive"`
	Dividends           []json.Number      `json:"dividends"`
	ValidatorTrust      []json.Number      `json:"validator_trust"`
	Bonds               [][][2]json.Number `json:"bonds"`
	MinerEmission       []uint64           `json:"miner_emission"`
	ValidatorEmission   []uint64           `json:"validator_emission"`
	Unallocated         uint64             `json:"unallocated"`
	StakeFallback       bool               `json:"stake_fallback"`
	ActiveStake         []json.Number      `json:"active_stake"`
	NextValidatorPermit []bool             `json:"next_validator_permit"`
}

func numbers(fs []Fixed, format func(Fixed) string) []json.Number {
	out := make([]json.Number, len(fs))
	for i, f := range fs {
		out[i] = json.Number(format(f))
	}
	return out
}

// bondRows packs rows of values at most 1 as bonds.
func bondRows(rows [][]Entry) [][]Bond {
	out := make([][]Bond, len(rows))
	for i, row := range rows {
		bs := make([]Bond, len(row))
		for k, e := range row {
			bs[k] = NewBond(e.UID, e.Value)
		}
		out[i] = bs
	}
	return out
}

// entryRows unpacks bond rows (nil stays nil).
func entryRows(rows [][]Bond) [][]Entry {
	if rows == nil {
		return nil
	}
	out := make([][]Entry, len(rows))
	for i, row := range rows {
		if row == nil {
			continue
		}
		es := make([]Entry, len(row))
		for k, b := range row {
			es[k] = Entry{UID: b.UID(), Value: b.Value()}
		}
		out[i] = es
	}
	return out
}

func sparseNumbers(rows [][]Entry, format func(Fixed) string) [][][2]json.Number {
	out := make([][][2]json.Number, len(rows))
	for i, row := range rows {
		r := make([][2]json.Number, len(row))
		for k, e := range row {
			r[k] = [2]json.Number{json.Number(fmt.Sprint(e.UID)), json.Number(format(e.Value))}
		}
		out[i] = r
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// EncodeOutput renders an epoch result as the scenario output JSON: fractions
// as plain decimals with up to 10 fractional digits (rounded down, see
// Fixed.String), base-unit amounts as integers, bonds as [[uid, b], ...] rows.
func EncodeOutput(out Output) ([]byte, error) {
	str := Fixed.String
	o := scenarioOutputJSON{
		Consensus:           numbers(out.Consensus, str),
		Incentive:           numbers(out.Incentive, str),
		Dividends:           numbers(out.Dividends, str),
		ValidatorTrust:      numbers(out.ValidatorTrust, str),
		Bonds:               sparseNumbers(entryRows(out.Bonds), str),
		MinerEmission:       nonNil(out.MinerEmission),
		ValidatorEmission:   nonNil(out.ValidatorEmission),
		Unallocated:         out.Unallocated,
		StakeFallback:       out.StakeFallback,
		ActiveStake:         numbers(out.ActiveStake, str),
		NextValidatorPermit: nonNil(out.NextPermit),
	}
	return json.Marshal(o)
}

// EncodeScenario renders an Input as a scenario with every field explicit
// (fractions exact, see Fixed.ExactString), so that DecodeScenario returns an
// equal Input; the chain can use it to export a subnet's live state for
// simulation. block is omitted (it defaults from the other blocks).
func EncodeScenario(in Input) ([]byte, error) {
	if err := in.Validate(); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	n := len(in.Stake)
	ex := Fixed.ExactString
	num := func(f Fixed) *json.Number { v := json.Number(ex(f)); return &v }
	unum := func(u uint64) *json.Number { v := json.Number(fmt.Sprint(u)); return &v }
	ulist := func(us []uint64) []json.Number {
		out := make([]json.Number, len(us))
		for i, u := range us {
			out[i] = json.Number(fmt.Sprint(u))
		}
		return out
	}
	blist := func(bs []bool) []*bool {
		out := make([]*bool, len(bs))
		for i := range bs {
			out[i] = &bs[i]
		}
		return out
	}
	rows := func(r [][]Entry) [][][]json.Number {
		out := make([][][]json.Number, n)
		for i := 0; i < n; i++ {
			var row []Entry
			if r != nil {
				row = r[i]
			}
			es := make([][]json.Number, len(row))
			for k, e := range row {
				es[k] = []json.Number{json.Number(fmt.Sprint(e.UID)), json.Number(ex(e.Value))}
			}
			out[i] = es
		}
		return out
	}
	p := in.Params
	la := p.LiquidAlpha
	s := scenarioJSON{
		Kappa:                 num(p.Kappa),
		BondsMovingAverage:    num(p.BondsMovingAverage),
		BondsPenalty:          num(p.BondsPenalty),
		MaxValidators:         unum(uint64(p.MaxValidators)),
		LiquidAlpha:           &la,
		AlphaLow:              num(p.AlphaLow),
		AlphaHigh:             num(p.AlphaHigh),
		AlphaSigmoidSteepness: num(p.AlphaSigmoidSteepness),
		Stake:                 ulist(in.Stake),
		ValidatorPermit:       blist(in.Permit),
		Active:                blist(in.Active),
		Weights:               rows(in.Weights),
		Bonds:                 rows(entryRows(in.Bonds)),
		RegisteredAt:          ulist(in.RegisteredAt),
		LastUpdate:            ulist(in.LastUpdate),
		LastEpochBlock:        unum(in.LastEpochBlock),
		Emission:              unum(in.Emission),
	}
	return json.Marshal(s)
}

// Simulate runs one epoch on a JSON scenario and returns the JSON result:
// DecodeScenario, Run, EncodeOutput.
func Simulate(scenario []byte) ([]byte, error) {
	in, err := DecodeScenario(scenario)
	if err != nil {
		return nil, err
	}
	// DecodeScenario has validated in; Run would validate it again.
	return EncodeOutput(run(&in).output())
}
