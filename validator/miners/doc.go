// Package miners is what the validator's parts share about the miners they
// call: who a miner is (Miner), how its OpenAI-compatible answer is read
// into a claim for the verifier (Answer), and what one request to it
// showed (Outcome and its Result classes). The probe loop, the scorer and
// the gateway all speak these types.
package miners
