package validator

import (
	"github.com/meritnet/merit/validator/dashboard"
	"github.com/meritnet/merit/validator/miners"
)

// dashboardData assembles the page from the validator's live state.
func (v *Validator) dashboardData() dashboard.Data {
	d := dashboard.Data{Title: "Merit validator", Netuid: v.cfg.Netuid, Hotkey: v.id.Address(), UID: -1, Round: v.scorer.Round(),
		ScoreSeries: v.history.ScoreSeries(), EmissionSeries: v.history.EmissionSeries(), SyncError: v.sync.LastErrorText(),
		PendingCommits: commitsView(v.commits.List()), LastWeights: weightsView(v.lastSub.Load())}
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
		row := dashboard.NeuronRow{
			UID: nr.Uid, Hotkey: nr.Hotkey, Stake: dashboard.FormatMERIT(n.Stake), Permit: nr.ValidatorPermit,
			IsSelf:    mg.Self != nil && nr.Uid == mg.Self.Neuron.Uid,
			Incentive: float64(nr.Incentive) / u16Max, Dividends: float64(nr.Dividends) / u16Max,
			Emission: dashboard.FormatMERIT(nr.LastEmission), Endpoint: nr.Endpoint.Address, ModelID: nr.Endpoint.ModelId,
			ModelOK: nr.Endpoint.ModelId == "" || nr.Endpoint.ModelId == d.TaskModel,
		}
		if s, ok := scores[uint16(nr.Uid)]; ok && s.Hotkey == nr.Hotkey {
			row.HasScore, row.Score = true, s.Score
			row.TTFTMillis, row.TPS = s.TTFTMillis, s.TPS
			row.LastResult, row.LastReason, row.LastDetail = s.LastResult, s.LastReason, s.LastDetail
			row.Failed = s.LastResult == miners.ResultFailedVerification || s.LastResult == miners.ResultWrongModel
		}
		d.Rows = append(d.Rows, row)
	}
	return d
}

// commitsView is the pending commits as the dashboard lists them.
func commitsView(pcs []PendingCommit) []dashboard.Commit {
	out := make([]dashboard.Commit, 0, len(pcs))
	for _, pc := range pcs {
		out = append(out, dashboard.Commit{Hash: pc.Hash, Status: pc.Status, CommitBlock: pc.CommitBlock,
			RevealFrom: pc.RevealFrom, RevealUntil: pc.RevealUntil, Uids: pc.Uids})
	}
	return out
}

// weightsView is the last submission as the dashboard shows it.
func weightsView(s *Submission) *dashboard.Weights {
	if s == nil {
		return nil
	}
	return &dashboard.Weights{Kind: s.Kind, Height: s.Height, TxHash: s.TxHash, Uids: s.Uids}
}

// scoresView is the round's scores as the dashboard's history keeps them.
func scoresView(scores []MinerScore) []dashboard.Score {
	out := make([]dashboard.Score, 0, len(scores))
	for _, s := range scores {
		out = append(out, dashboard.Score{UID: s.UID, Hotkey: s.Hotkey, Score: s.Score})
	}
	return out
}
