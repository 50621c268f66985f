package yuma

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"testing"
)

// byteSource reads fuzz bytes, yielding zeros once exhausted.
type byteSource struct{ b []byte }

func (s *byteSource) u8() uint8 {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return v
}

func (s *byteSource) u64() uint64 {
	var buf [8]byte
	k := copy(buf[:], s.b)
	s.b = s.b[k:]
	return binary.LittleEndian.Uint64(buf[:])
}

// fixed returns a value biased toward interesting fractions but able to be
// anything (including invalid parameter values).
func (s *byteSource) fixed() Fixed {
	switch s.u8() % 6 {
	case 0:
		return 0
	case 1:
		return One
	case 2:
		return Fixed(uint64(s.u8()) << 24)
	case 3:
		return Fixed(s.u64())
	default:
		return Fixed(s.u64() % (uint64(One) + 1))
	}
}

// inputFromBytes turns arbitrary bytes into an Input, valid or not.
func inputFromBytes(data []byte) Input {
	s := &byteSource{data}
	n := int(s.u8() % 48)
	in := Input{
		Params: Params{
			Kappa: s.fixed(), BondsMovingAverage: s.fixed(), BondsPenalty: s.fixed(),
			MaxValidators: uint32(s.u8()), LiquidAlpha: s.u8()%2 == 0,
			AlphaLow: s.fixed(), AlphaHigh: s.fixed(), AlphaSigmoidSteepness: s.fixed(),
		},
		Stake:          make([]uint64, n),
		Permit:         make([]bool, n),
		Active:         make([]bool, n),
		RegisteredAt:   make([]uint64, n),
		LastUpdate:     make([]uint64, n),
		LastEpochBlock: uint64(s.u8()),
		Emission:       s.u64(),
	}
	flags := s.u8()
	if flags&1 == 0 {
		in.Weights = make([][]Entry, n)
	}
	if flags&2 == 0 {
		in.Bonds = make([][]Bond, n)
	}
	if flags&4 != 0 && n > 0 { // occasionally a length mismatch
		in.Active = in.Active[:n-1]
	}
	for i := 0; i < n; i++ {
		switch s.u8() % 4 {
		case 0:
			in.Stake[i] = 0
		case 1:
			in.Stake[i] = uint64(s.u8())
		default:
			in.Stake[i] = s.u64()
		}
		f := s.u8()
		in.Permit[i] = f&1 != 0
		if i < len(in.Active) {
			in.Active[i] = f&2 != 0
		}
		in.RegisteredAt[i] = uint64(s.u8())
		in.LastUpdate[i] = uint64(s.u8())
		if in.Weights != nil {
			m := int(s.u8() % 8)
			uid := 0
			for k := 0; k < m; k++ {
				uid += int(s.u8() % 6) // step 0 makes a duplicate
				in.Weights[i] = append(in.Weights[i], Entry{UID: uint16(uid), Value: s.fixed()})
			}
		}
		if in.Bonds != nil {
			m := int(s.u8() % 6)
			uid := 0
			for k := 0; k < m; k++ {
				uid += 1 + int(s.u8()%6)
				in.Bonds[i] = append(in.Bonds[i], NewBond(uint16(uid), s.fixed()))
			}
		}
	}
	return in
}

// FuzzEpoch runs the epoch on arbitrary inputs: it must never panic, must
// reject invalid inputs with an error, and valid ones must satisfy every
// invariant. The seed corpus makes it run as a unit test.
func FuzzEpoch(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{5, 3, 0, 4, 1, 2})
	f.Add([]byte("\x10\x05\x80\x00\x00\x00\x00\x01\x01\x02\x40\x04\x03\x07\x07\x07\x07\x07\x07"))
	for k := 0; k < 24; k++ {
		seed := make([]byte, 64+k*37)
		for i := range seed {
			seed[i] = byte(i*131 + k*29 + (i*i)%17)
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := inputFromBytes(data)
		out, err := Run(in)
		// Run checks the rows as it reads them: it must reject exactly
		// what Validate rejects, with the same error.
		if verr := in.Validate(); (err == nil) != (verr == nil) || (err != nil && err.Error() != verr.Error()) {
			t.Fatalf("Run error %v, Validate %v", err, verr)
		}
		if err != nil {
			return
		}
		checkInvariants(t, &in, &out)
		if _, err := EncodeOutput(out); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzScenario feeds arbitrary text to the scenario decoder and simulator.
func FuzzScenario(f *testing.F) {
	example, err := os.ReadFile("testdata/example_scenario.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	for _, s := range []string{
		`{"stake":[1,2],"weights":[[[1,1]],[]]}`,
		`{"stake":[1e3,0,5],"weights":[[[1,0.5],[2,1e-3]],[[0,1]],[]],"bonds":[[[1,1]],[],[[0,0.5]]],"liquid_alpha":true}`,
		`{"stake":[1],"weights":[[]],"block":1,"last_update":[2]}`,
		`{"stake":[-1],"weights":[[]]}`,
		`{"stake":[1,1],"weights":[[[5,1]],[]]}`,
		`{"stake":[],"weights":[]}`,
		`{"stake":[1],"weights":[[[0,1,2]]]}`,
		`{"stake":[1],"weights":[[]]} {}`,
		`[1,2,3]`,
		`{"stake":[1],"weights":[[]],"kappa":"0.5","active":[null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		in, err := DecodeScenario(data)
		if err != nil {
			return
		}
		out, err := Run(in)
		if err != nil {
			t.Fatalf("decoded scenario rejected by Run: %v", err)
		}
		checkInvariants(t, &in, &out)
		res, err := EncodeOutput(out)
		if err != nil || !json.Valid(res) {
			t.Fatalf("bad output JSON: %v", err)
		}
	})
}
