package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	emissiontypes "github.com/meritnet/merit/x/emission/types"
)

// sampleData is a validator with four miners and some history:
// what the page test and the Chromium screenshot render.
func sampleData() Data {
	task := "merit-tiny@sha256:2f27905e0378c0ede9f74e1d1f4ff843657e08571013367bcc5465e377523467"
	d := Data{
		Title: "Merit validator", Netuid: 1, SubnetName: "demo", TaskModel: task,
		Hotkey: "merit1validatorxxxxxxxxxxxxxxxxxxxxxxxxxq0", UID: 4, Permit: true,
		Height: 1234, Epoch: 61, NextEpochBlock: 1239, Tempo: 20, CommitReveal: true, RevealPeriod: 1, NextSubmitBlock: 1240, Round: 87,
		GeneratedAt:    time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC),
		PendingCommits: []Commit{{Hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Status: "committed", CommitBlock: 1221, RevealFrom: 1240, RevealUntil: 1259, Uids: []uint32{0, 1}}},
		LastWeights:    &Weights{Kind: "reveal", Height: 1222, Uids: []uint32{0, 1}},
	}
	rows := []struct {
		hotkey, result, reason string
		score, ttft, tps       float64
		inc, div               uint32
		emission               string
	}{
		{"merit1honestminerxxxxxxxxxxxxxxxxxxxxxxxxa1", "ok", "", 0.97, 12, 410, 40000, 0, "1.250000"},
		{"merit1slowminerxxxxxxxxxxxxxxxxxxxxxxxxxxb2", "ok", "", 0.41, 45, 22, 20000, 0, "0.610000"},
		{"merit1othermodelxxxxxxxxxxxxxxxxxxxxxxxxxc3", "failed_verification", "not_argmax", 0, 0, 0, 0, 0, "0.000000"},
		{"merit1downminerxxxxxxxxxxxxxxxxxxxxxxxxxxd4", "refused", "connection_refused", 0.08, 0, 0, 5535, 0, "0.150000"},
	}
	for i, r := range rows {
		d.Rows = append(d.Rows, NeuronRow{UID: uint32(i), Hotkey: r.hotkey, Stake: "0.000000", HasScore: true, Score: r.score,
			Incentive: float64(r.inc) / 65535, Emission: r.emission, Endpoint: "127.0.0.1:900" + string(rune('1'+i)), ModelOK: i != 2,
			ModelID: task, TTFTMillis: r.ttft, TPS: r.tps, LastResult: r.result, LastReason: r.reason, Failed: r.result == "failed_verification"})
	}
	d.Rows = append(d.Rows, NeuronRow{UID: 4, Hotkey: d.Hotkey, Stake: "600.000000", Permit: true, IsSelf: true, Dividends: 1, Emission: "2.000000"})
	for i := range 4 {
		s := Series{UID: uint16(i), Hotkey: rows[i].hotkey}
		e := Series{UID: uint16(i), Hotkey: rows[i].hotkey}
		for k := range 30 {
			s.X = append(s.X, float64(k*5))
			target := rows[i].score
			if i == 3 && k > 20 {
				target = 0.08
			}
			s.Y = append(s.Y, target*(1-pow(0.7, k+1)))
			if k%3 == 0 {
				e.X = append(e.X, float64(50+k/3))
				e.Y = append(e.Y, 2*float64(rows[i].inc)/65535)
			}
		}
		d.ScoreSeries = append(d.ScoreSeries, s)
		d.EmissionSeries = append(d.EmissionSeries, e)
	}
	return d
}

func pow(x float64, n int) float64 {
	r := 1.0
	for range n {
		r *= x
	}
	return r
}

func TestDashboardPage(t *testing.T) {
	data := sampleData()
	srv := httptest.NewServer(Handler(func() Data { return data }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`<table id="metagraph">`, "<th>UID</th>", "<th>hotkey</th>", "<th>stake (MERIT)</th>", "<th>permit</th>", "<th>score</th>",
		"<th>incentive</th>", "<th>dividends</th>", "<th>emission (MERIT)</th>", "<th>endpoint</th>", "<th>last verification</th>",
		"merit1honestminerxxxxxxxxxxxxxxxxxxxxxxxxa1", "0.9700", "not_argmax", "connection_refused", "(this validator)",
		"<svg", "<polyline", "Score per miner", "Emission per neuron per epoch", `<table id="commits">`, "1240",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg"); n != 2 {
		t.Errorf("%d plots, want 2", n)
	}
	// Self-contained: no scripts, no external resources.
	for _, bad := range []string{"<script", "<link", " src=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	// Only GET /.
	if r, _ := http.Get(srv.URL + "/nope"); r.StatusCode != 404 {
		t.Errorf("unknown path: %d", r.StatusCode)
	}
	if r, _ := http.Post(srv.URL+"/", "text/plain", nil); r.StatusCode != 405 {
		t.Errorf("POST /: %d", r.StatusCode)
	}
}

func TestDashboardEscapesAndEmpty(t *testing.T) {
	d := Data{Hotkey: `<script>alert(1)</script>`, UID: -1,
		Rows:        []NeuronRow{{UID: 0, Hotkey: `"><img src=x>`, Endpoint: "<b>x</b>", LastResult: "rejected", LastDetail: `<i>`}},
		ScoreSeries: []Series{{UID: 0, Hotkey: "</text><script>", X: []float64{0}, Y: []float64{0.5}}}}
	rec := httptest.NewRecorder()
	Handler(func() Data { return d }).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	page := rec.Body.String()
	if strings.Contains(page, "<script") || strings.Contains(page, "<img") || strings.Contains(page, "<b>x") {
		t.Fatalf("unescaped input in page:\n%s", page)
	}
	if !strings.Contains(page, "no data yet") || !strings.Contains(page, "unregistered") {
		t.Fatal("empty plot or unregistered state not shown")
	}
}

func TestHistoryBackfillAndBounds(t *testing.T) {
	h := NewHistory(3)
	recs := []emissiontypes.NeuronEmission{
		{Epoch: 5, Hotkey: "a", Miner: sdkmath.NewInt(2_000_000), Validator: sdkmath.NewInt(0)},
		{Epoch: 4, Hotkey: "a", Miner: sdkmath.NewInt(1_000_000), Validator: sdkmath.NewInt(500_000)},
		{Epoch: 3, Hotkey: "other", Miner: sdkmath.NewInt(9), Validator: sdkmath.NewInt(9)},
	}
	h.Backfill(1, "a", recs)
	s := h.EmissionSeries()
	if len(s) != 1 || len(s[0].X) != 2 || s[0].X[0] != 4 || s[0].Y[0] != 1.5 || s[0].Y[1] != 2 {
		t.Fatalf("%+v", s)
	}
	for i := range 5 {
		h.AddScores(time.Unix(int64(i), 0), []Score{{UID: 1, Hotkey: "a", Score: float64(i) / 10}})
	}
	sc := h.ScoreSeries()
	if len(sc) != 1 || len(sc[0].Y) != 3 || sc[0].Y[2] != 0.4 || sc[0].X[0] != 0 {
		t.Fatalf("%+v", sc)
	}
	// The UID changes hands: its series start over.
	h.AddScores(time.Unix(9, 0), []Score{{UID: 1, Hotkey: "b", Score: 0}})
	if sc := h.ScoreSeries(); len(sc[0].Y) != 1 || len(h.EmissionSeries()) != 0 {
		t.Fatalf("%+v", sc)
	}
}
