package cli

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cosmos/gogoproto/proto"
	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
)

// inclusionTimeout bounds how long a command waits for its tx in a block.
const inclusionTimeout = 60 * time.Second

// outcome is what a payment command tells its user once the tx is in a block.
type outcome struct {
	TxHash string `json:"txhash"`
	Height int64  `json:"height"`
	// Extra lines, in order, e.g. the account id.
	Fields [][2]string `json:"-"`
}

// broadcastAndWait signs and broadcasts msg, waits until it is in a block and
// decodes the first message response into resp (when non-nil). It returns
// done=false when there is nothing to wait for (--generate-only, --dry-run):
// the SDK has then printed what it always prints.
func broadcastAndWait(cmd *cobra.Command, clientCtx client.Context, msg sdk.Msg, resp proto.Message) (outcome, bool, error) {
	if clientCtx.GenerateOnly || clientCtx.Simulate {
		return outcome{}, false, tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
	}
	var buf bytes.Buffer
	quiet := clientCtx.WithOutput(&buf).WithOutputFormat(flags.OutputFormatJSON)
	if err := tx.GenerateOrBroadcastTxCLI(quiet, cmd.Flags(), msg); err != nil {
		return outcome{}, false, err
	}
	var sent struct {
		Code   uint32 `json:"code"`
		TxHash string `json:"txhash"`
		RawLog string `json:"raw_log"`
	}
	if err := yaml.Unmarshal(buf.Bytes(), &sent); err != nil || sent.TxHash == "" {
		// Cancelled at the confirmation prompt, or an output we do not know.
		_, _ = cmd.OutOrStdout().Write(buf.Bytes())
		return outcome{}, false, nil
	}
	if sent.Code != 0 {
		return outcome{}, false, fmt.Errorf("tx %s rejected (code %d): %s", sent.TxHash, sent.Code, sent.RawLog)
	}
	res, err := waitTx(cmd, clientCtx, sent.TxHash)
	if err != nil {
		return outcome{}, false, err
	}
	if res.Code != 0 {
		return outcome{}, false, fmt.Errorf("tx %s failed at height %d (code %d): %s", res.TxHash, res.Height, res.Code, res.RawLog)
	}
	if resp != nil {
		if err := decodeFirstResponse(res, resp); err != nil {
			return outcome{}, false, err
		}
	}
	return outcome{TxHash: res.TxHash, Height: res.Height}, true, nil
}

func waitTx(cmd *cobra.Command, clientCtx client.Context, hash string) (*sdk.TxResponse, error) {
	deadline := time.Now().Add(inclusionTimeout)
	for {
		res, err := authtx.QueryTx(clientCtx, hash)
		if err == nil {
			return res, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("tx %s was broadcast but is not in a block after %s (last error: %v); check later with 'meritd q tx %s'", hash, inclusionTimeout, err, hash)
		}
		select {
		case <-cmd.Context().Done():
			return nil, cmd.Context().Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func decodeFirstResponse(res *sdk.TxResponse, out proto.Message) error {
	data, err := hex.DecodeString(res.Data)
	if err != nil {
		return fmt.Errorf("tx %s: result data: %w", res.TxHash, err)
	}
	var msgData sdk.TxMsgData
	if err := proto.Unmarshal(data, &msgData); err != nil {
		return fmt.Errorf("tx %s: result data: %w", res.TxHash, err)
	}
	if len(msgData.MsgResponses) == 0 {
		return fmt.Errorf("tx %s: no message response", res.TxHash)
	}
	return proto.Unmarshal(msgData.MsgResponses[0].Value, out)
}

// print writes the outcome as "key: value" lines, or one JSON object with -o json.
func (o outcome) print(clientCtx client.Context) error {
	fields := append([][2]string{{"txhash", o.TxHash}, {"height", fmt.Sprint(o.Height)}}, o.Fields...)
	var b bytes.Buffer
	if clientCtx.OutputFormat == flags.OutputFormatJSON {
		b.WriteByte('{')
		for i, f := range fields {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(f[0])
			v, _ := json.Marshal(f[1])
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteString("}\n")
	} else {
		for _, f := range fields {
			fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
		}
	}
	return clientCtx.PrintBytes(b.Bytes())
}
