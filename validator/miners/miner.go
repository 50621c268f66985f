package miners

// Miner is a neuron the validator can call.
type Miner struct {
	UID     uint16
	Hotkey  string
	Address string // host:port
	ModelID string // as announced on-chain
}
