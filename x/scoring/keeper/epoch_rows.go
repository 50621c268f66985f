package keeper

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"cosmossdk.io/collections"
	collcodec "cosmossdk.io/collections/codec"
	storetypes "cosmossdk.io/core/store"

	"github.com/meritnet/merit/x/scoring/types"
)

// row is one stored weights or bonds row, decoded into slices that are
// reused from row to row (a dense subnet's rows are 4096 entries each, and
// the epoch copies them into its own input anyway). Weight values are u32,
// bond values u64; both are held as u64.
type row struct {
	uids  []uint32
	vals  []uint64
	setAt int64
}

// rowWalk visits a subnet's stored rows of one collection (weights or bonds)
// in ascending UID order, straight from the store: one pass instead of a
// lookup per UID, most of which (the miners) find nothing.
type rowWalk struct {
	it    storetypes.Iterator
	plen  int // the collection prefix plus the netuid
	bonds bool
	// The collections' value codecs, for rows not laid out as this module writes them.
	bondsCodec   collcodec.ValueCodec[types.BondsRow]
	weightsCodec collcodec.ValueCodec[types.WeightsRow]
	buf          row
}

func (k Keeper) walkWeightRows(ctx context.Context, netuid uint32) (*rowWalk, error) {
	return k.newRowWalk(ctx, k.Weights.GetPrefix(), netuid, &rowWalk{weightsCodec: k.Weights.ValueCodec()})
}

func (k Keeper) walkBondRows(ctx context.Context, netuid uint32) (*rowWalk, error) {
	return k.newRowWalk(ctx, k.Bonds.GetPrefix(), netuid, &rowWalk{bonds: true, bondsCodec: k.Bonds.ValueCodec()})
}

// newRowWalk iterates the keys prefix | netuid | uid (both u32 big-endian, as
// collections encodes the pair), the range Map.Iterate of a prefixed pair
// range would cover.
func (k Keeper) newRowWalk(ctx context.Context, prefix []byte, netuid uint32, w *rowWalk) (*rowWalk, error) {
	start := binary.BigEndian.AppendUint32(append([]byte{}, prefix...), netuid)
	it, err := k.storeService.OpenKVStore(ctx).Iterator(start, prefixEnd(start))
	if err != nil {
		return nil, err
	}
	w.it, w.plen = it, len(start)
	return w, nil
}

// prefixEnd is the first key after every key that starts with p (nil: none).
func prefixEnd(p []byte) []byte {
	end := append([]byte{}, p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func (w *rowWalk) Close() error { return w.it.Close() }

// at returns the row of uid if it has one, leaving the walk after it;
// callers ask for UIDs in increasing order. The returned row is valid until
// the next call. Errors read as Map.Get's would.
func (w *rowWalk) at(uid uint32) (*row, bool, error) {
	for ; w.it.Valid(); w.it.Next() {
		key := w.it.Key()
		if len(key) != w.plen+4 {
			return nil, false, fmt.Errorf("%w: stored row key %x is not netuid and uid", collections.ErrEncoding, key)
		}
		switch k2 := binary.BigEndian.Uint32(key[w.plen:]); {
		case k2 > uid:
			return nil, false, nil
		case k2 == uid:
			err := w.decode(w.it.Value())
			w.it.Next()
			if err != nil {
				return nil, false, fmt.Errorf("%w: value decode: %w", collections.ErrEncoding, err)
			}
			return &w.buf, true, nil
		}
	}
	return nil, false, nil
}

// decode reads bz into w.buf: with decodePacked when bz is laid out as this
// module writes rows, else with the collection's own codec (gogoproto).
func (w *rowWalk) decode(bz []byte) error {
	r := &w.buf
	r.uids, r.vals, r.setAt = r.uids[:0], r.vals[:0], 0
	if decodePacked(bz, r, w.bonds) {
		return nil
	}
	r.uids, r.vals, r.setAt = r.uids[:0], r.vals[:0], 0
	if w.bonds {
		v, err := w.bondsCodec.Decode(bz)
		if err != nil {
			return err
		}
		r.uids = append(r.uids, v.Uids...)
		r.vals = append(r.vals, v.Values...)
		return nil
	}
	v, err := w.weightsCodec.Decode(bz)
	if err != nil {
		return err
	}
	r.uids = append(r.uids, v.Uids...)
	for _, x := range v.Values {
		r.vals = append(r.vals, uint64(x))
	}
	r.setAt = v.SetAt
	return nil
}

// decodePacked decodes a row made only of packed uids (field 1), packed
// values (field 2) and, for weights, set_at (field 3), each any number of
// times in any order, and returns what gogoproto's generated Unmarshal
// returns for the same bytes: the same varint arithmetic, repeated fields
// appended, the last set_at kept. It returns false, leaving r to be reset,
// for anything else (another field or wire type, a varint longer than its
// type's, or one running past its packed field, truncation), which the
// caller hands to gogoproto; so the fast path never decides what an odd row means.
func decodePacked(bz []byte, r *row, bonds bool) bool {
	i, l := 0, len(bz)
	for i < l {
		tag := bz[i]
		i++
		switch {
		case tag == 0x18 && !bonds: // set_at, varint
			var v uint64
			if v, i = varint(bz, i, l, 64); i < 0 {
				return false
			}
			r.setAt = int64(v)
		case tag == 0x0a || tag == 0x12: // packed uids or values
			var n uint64
			if n, i = varint(bz, i, l, 28); i < 0 {
				return false
			}
			end := i + int(n)
			if end > l {
				return false
			}
			switch {
			case tag == 0x0a:
				i = appendVarints(bz, i, end, &r.uids, 35, math.MaxUint32)
			case bonds:
				i = appendVarints(bz, i, end, &r.vals, 70, math.MaxUint64)
			default:
				i = appendVarints(bz, i, end, &r.vals, 35, math.MaxUint32)
			}
			if i < 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// appendVarints appends the varints of bz[i:end] to dst and returns end, or
// -1 for a varint longer than maxShift allows or one that does not end by
// end. Each value is masked to the field's width, as gogoproto's arithmetic
// drops the bits of a u32 field beyond 32; u32 weights are held as u64.
func appendVarints[T uint32 | uint64](bz []byte, i, end int, dst *[]T, maxShift uint, mask uint64) int {
	out := *dst
	for i < end {
		// Most uids and weights take one or two bytes.
		b := bz[i]
		if b < 0x80 {
			out = append(out, T(b))
			i++
			continue
		}
		if i+1 < end && bz[i+1] < 0x80 {
			out = append(out, T((uint64(b&0x7F)|uint64(bz[i+1])<<7)&mask))
			i += 2
			continue
		}
		var v uint64
		if v, i = varint(bz, i, end, maxShift); i < 0 {
			return -1
		}
		out = append(out, T(v&mask))
	}
	*dst = out
	return i
}

// varint reads the varint at bz[i:end] and returns it with the index after
// it, or i = -1 for one longer than maxShift allows or not ending by end.
func varint(bz []byte, i, end int, maxShift uint) (uint64, int) {
	var v uint64
	for shift := uint(0); shift < maxShift && i < end; shift += 7 {
		b := bz[i]
		i++
		v |= uint64(b&0x7F) << shift
		if b < 0x80 {
			return v, i
		}
	}
	return 0, -1
}
