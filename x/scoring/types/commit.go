package types

import (
	"crypto/sha256"
	"encoding/binary"
)

// CommitDomain separates commit hashes from any other sha256 use.
const CommitDomain = "merit-weights-commit-v1"

// CommitHash is the hash a validator commits and later reveals against:
//
//	sha256( "merit-weights-commit-v1"
//	        || u8 len(hotkey) || hotkey        (raw address bytes, 20 for secp256k1 keys)
//	        || u16be netuid
//	        || u32be n || n × (u16be uid || u16be weight)   (in the order revealed)
//	        || u32be len(salt) || salt
//	        || u64be version_key )
//
// Weights are the values as sent in the reveal, before upscaling. Any client
// in any language can compute it from this description.
func CommitHash(hotkey []byte, netuid uint32, uids, weights []uint32, salt []byte, versionKey uint64) []byte {
	buf := make([]byte, 0, len(CommitDomain)+1+len(hotkey)+2+4+4*len(uids)+4+len(salt)+8)
	buf = append(buf, CommitDomain...)
	buf = append(buf, byte(len(hotkey)))
	buf = append(buf, hotkey...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(netuid))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(uids)))
	for i := range uids {
		w := uint32(0)
		if i < len(weights) {
			w = weights[i]
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(uids[i]))
		buf = binary.BigEndian.AppendUint16(buf, uint16(w))
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(salt)))
	buf = append(buf, salt...)
	buf = binary.BigEndian.AppendUint64(buf, versionKey)
	sum := sha256.Sum256(buf)
	return sum[:]
}
