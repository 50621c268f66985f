// Package dashboard is the validator's status page: the metagraph table,
// score and emission plots rendered as inline SVG, and the bounded history
// they are drawn from. The validator assembles a Data; this package only
// renders it.
package dashboard

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	sdkmath "cosmossdk.io/math"
)

//go:embed page.html.tmpl
var dashboardTemplate string

var dashboardPage = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"short": shortAddr,
}).Parse(dashboardTemplate))

// Data is everything the dashboard page shows. The handler only
// renders it, so tests can feed it without a chain.
type Data struct {
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
	PendingCommits  []Commit
	LastWeights     *Weights
	GeneratedAt     time.Time
}

// Commit is a pending weight commit as the page lists it.
type Commit struct {
	Hash        string
	Status      string
	CommitBlock int64
	RevealFrom  int64
	RevealUntil int64
	Uids        []uint32
}

// Weights is the last weight submission as the page shows it.
type Weights struct {
	Kind   string // set, commit or reveal
	Height int64
	TxHash string
	Uids   []uint32
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
	Data
	Refresh      int
	ScorePlot    template.HTML
	EmissionPlot template.HTML
}

// Handler serves the page at GET /.
func Handler(src func() Data) http.Handler {
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
			Data:    d,
			Refresh: 10,
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

// FormatMERIT shows an amount of umerit as MERIT with six decimals.
func FormatMERIT(umerit sdkmath.Int) string {
	return fmt.Sprintf("%.6f", intFloat(umerit)/1e6)
}
