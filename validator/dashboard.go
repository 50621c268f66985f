package validator

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

//go:embed dashboard/page.html.tmpl
var dashboardTemplate string

var dashboardPage = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"short": shortAddr,
}).Parse(dashboardTemplate))

// DashboardData is everything the dashboard page shows. The handler only
// renders it, so tests can feed it without a chain.
type DashboardData struct {
	Title           string
	Netuid          uint32
	SubnetName      string
	TaskModel       string
	Hotkey          string
	UID             int // -1 when unregistered
	Permit          bool
	Height          int64
	Epoch           uint64
	NextEpochBlock  int64
	Tempo           uint64
	CommitReveal    bool
	RevealPeriod    uint64
	NextSubmitBlock int64
	Round           uint64
	SyncError       string
	Rows            []NeuronRow
	ScoreSeries     []Series
	EmissionSeries  []Series
	PendingCommits  []PendingCommit
	LastWeights     *Submission
	GeneratedAt     time.Time
}

// NeuronRow is one line of the metagraph table.
type NeuronRow struct {
	UID        uint32
	Hotkey     string
	Stake      string // MERIT
	Permit     bool
	IsSelf     bool
	HasScore   bool
	Score      float64
	Incentive  float64 // fraction
	Dividends  float64 // fraction
	Emission   string  // MERIT at the last epoch
	Endpoint   string
	ModelID    string
	ModelOK    bool
	TTFTMillis float64
	TPS        float64
	LastResult string
	LastReason string
	LastDetail string
	Failed     bool
}

// pageData adds the rendered plots to the data.
type pageData struct {
	DashboardData
	Refresh      int
	ScorePlot    template.HTML
	EmissionPlot template.HTML
}

// DashboardHandler serves the page at GET /.
func DashboardHandler(src func() DashboardData) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		d := src()
		if d.Title == "" {
			d.Title = "Merit validator"
		}
		if d.GeneratedAt.IsZero() {
			d.GeneratedAt = time.Now().UTC().Truncate(time.Second)
		}
		p := pageData{
			DashboardData: d,
			Refresh:       10,
			ScorePlot: RenderPlot(d.ScoreSeries, PlotOptions{Title: "Score per miner", XLabel: "seconds",
				YLabel: "score", YMin: 0, YMax: 1}),
			EmissionPlot: RenderPlot(d.EmissionSeries, PlotOptions{Title: "Emission per neuron per epoch", XLabel: "epoch",
				YLabel: "MERIT"}),
		}
		var buf bytes.Buffer
		if err := dashboardPage.Execute(&buf, p); err != nil {
			http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		// The page loads nothing from anywhere; say so to the browser too.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
		_, _ = w.Write(buf.Bytes())
	})
}

// dashboardData assembles the page from the validator's live state.
func (v *Validator) dashboardData() DashboardData {
	d := DashboardData{Title: "Merit validator", Netuid: v.cfg.Netuid, Hotkey: v.id.Address(), UID: -1, Round: v.scorer.Round(),
		ScoreSeries: v.history.ScoreSeries(), EmissionSeries: v.history.EmissionSeries(), SyncError: v.sync.LastErrorText(),
		PendingCommits: v.commits.List(), LastWeights: v.lastSub.Load()}
	mg := v.sync.Current()
	if mg == nil {
		return d
	}
	h := mg.Hyperparams()
	d.SubnetName, d.TaskModel = mg.Subnet.Name, mg.Subnet.Task.ModelID()
	d.Height, d.Epoch, d.NextEpochBlock, d.Tempo = mg.Height, mg.Epoch, mg.NextEpochBlock, h.Tempo
	d.CommitReveal, d.RevealPeriod = h.CommitRevealEnabled, h.RevealPeriod
	d.UID, d.Permit = mg.SelfUID(), mg.HasPermit()
	d.NextSubmitBlock = NextSubmitBlock(mg)
	scores := map[uint16]MinerScore{}
	for _, s := range v.scorer.Scores() {
		scores[s.UID] = s
	}
	for _, n := range mg.Neurons {
		nr := n.Neuron
		row := NeuronRow{
			UID: nr.Uid, Hotkey: nr.Hotkey, Stake: formatMERIT(intFloat(n.Stake)), Permit: nr.ValidatorPermit,
			IsSelf:    mg.Self != nil && nr.Uid == mg.Self.Neuron.Uid,
			Incentive: float64(nr.Incentive) / u16Max, Dividends: float64(nr.Dividends) / u16Max,
			Emission: formatMERIT(intFloat(nr.LastEmission)), Endpoint: nr.Endpoint.Address, ModelID: nr.Endpoint.ModelId,
			ModelOK: nr.Endpoint.ModelId == "" || nr.Endpoint.ModelId == d.TaskModel,
		}
		if s, ok := scores[uint16(nr.Uid)]; ok && s.Hotkey == nr.Hotkey {
			row.HasScore, row.Score = true, s.Score
			row.TTFTMillis, row.TPS = s.TTFTMillis, s.TPS
			row.LastResult, row.LastReason, row.LastDetail = s.LastResult, s.LastReason, s.LastDetail
			row.Failed = s.LastResult == ResultFailedVerification || s.LastResult == ResultWrongModel
		}
		d.Rows = append(d.Rows, row)
	}
	return d
}

// formatMERIT shows umerit as MERIT with up to six decimals.
func formatMERIT(umerit float64) string {
	return fmt.Sprintf("%.6f", umerit/1e6)
}
