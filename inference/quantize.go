package inference

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
)

// QuantizeInt8 returns a copy of m whose weight matrices went through
// symmetric per-row int8 quantization and back to float32 (the common
// "Q8" shortcut a dishonest miner might take). The verifier must reject its
// output; the verifier's tests use it.
func QuantizeInt8(m *Model) (*Model, error) {
	data := append([]float32(nil), m.data...)
	q, err := newModel(m.Name+"-q8", m.Config, data, "")
	if err != nil {
		return nil, err
	}
	c := q.Config
	quant := func(w []float32, rowLen int) {
		for r := 0; r+rowLen <= len(w); r += rowLen {
			row := w[r : r+rowLen]
			var mx float32
			for _, v := range row {
				mx = max(mx, float32(math.Abs(float64(v))))
			}
			if mx == 0 {
				continue
			}
			scale := mx / 127
			for i, v := range row {
				row[i] = float32(math.Round(float64(v/scale))) * scale
			}
		}
	}
	quant(q.tokEmb, c.Dim)
	for _, l := range q.layers {
		quant(l.wq, c.Dim)
		quant(l.wk, c.Dim)
		quant(l.wv, c.Dim)
		quant(l.wo, c.Dim)
		quant(l.w1, c.Dim)
		quant(l.w2, c.HiddenDim)
		quant(l.w3, c.Dim)
	}
	if !c.SharedClassifier {
		quant(q.wcls, c.Dim)
	}
	sum := sha256.Sum256(q.Checkpoint())
	q.SHA256 = hex.EncodeToString(sum[:])
	return q, nil
}
