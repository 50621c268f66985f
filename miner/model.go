package miner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/internal/daemon"
)

// Flag names shared by the commands that load a model.
const (
	flagCheckpoint = "checkpoint"
	flagTokenizer  = "tokenizer"
	flagThreads    = "threads"
)

// modelFlags select the builtin engine's model: merit-tiny unless a
// checkpoint is given. category files them in help ("" for none).
func modelFlags(category string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name: flagCheckpoint, Usage: "llama2.c checkpoint `FILE` (default: the built-in merit-tiny)",
			EnvVars: []string{"MERIT_CHECKPOINT"}, TakesFile: true, Category: category,
		},
		&cli.StringFlag{
			Name: flagTokenizer, Usage: "llama2.c tokenizer `FILE` (default: tok<vocab>.bin or tokenizer.bin beside the checkpoint)",
			EnvVars: []string{"MERIT_TOKENIZER"}, TakesFile: true, Category: category,
		},
		&cli.IntFlag{
			Name: flagThreads, Usage: "`N` goroutines for batched passes (0: one per CPU); results do not depend on it",
			EnvVars: []string{"MERIT_THREADS"}, Category: category,
		},
	}
}

// loadEngine builds the builtin engine the model flags describe.
func loadEngine(c *cli.Context) (*inference.LocalEngine, error) {
	opts := inference.Options{Threads: c.Int(flagThreads)}
	ckpt, tok := c.String(flagCheckpoint), c.String(flagTokenizer)
	if ckpt == "" {
		if tok != "" {
			return nil, errors.New("--tokenizer needs --checkpoint (merit-tiny has its own tokenizer)")
		}
		return inference.TinyEngine(opts)
	}
	m, err := inference.LoadCheckpoint(ckpt)
	if err != nil {
		return nil, err
	}
	if tok == "" {
		if tok, err = findTokenizer(ckpt, m.VocabSize); err != nil {
			return nil, err
		}
	}
	t, err := inference.LoadTokenizer(tok, m.VocabSize)
	if err != nil {
		return nil, err
	}
	return inference.NewLocalEngine(m, t, opts)
}

// findTokenizer looks beside the checkpoint, as llama2.c users keep them.
func findTokenizer(ckpt string, vocab int) (string, error) {
	dir := filepath.Dir(ckpt)
	cands := []string{filepath.Join(dir, fmt.Sprintf("tok%d.bin", vocab)), filepath.Join(dir, "tokenizer.bin")}
	for _, p := range cands {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no tokenizer for %s: pass --tokenizer (looked for %s and %s)", ckpt, cands[0], cands[1])
}

func modelCommand() *cli.Command {
	return &cli.Command{
		Name:  "model",
		Usage: "inspect the model this miner serves",
		Subcommands: []*cli.Command{{
			Name:  "info",
			Usage: "print the model's id (name@sha256) and shape",
			Flags: append(modelFlags(""), &cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table", EnvVars: daemon.EnvOf("json")}),
			Action: func(c *cli.Context) error {
				e, err := loadEngine(c)
				if err != nil {
					return err
				}
				return printInfo(c, e)
			},
		}},
	}
}

func printInfo(c *cli.Context, e *inference.LocalEngine) error {
	info := e.Info()
	w := c.App.Writer
	if c.Bool("json") {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	cfg := info.Config
	classifier := "shared with the token embedding"
	if !cfg.SharedClassifier {
		classifier = "separate"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\n", info.ID)
	fmt.Fprintf(tw, "format:\t%s\n", info.Format)
	fmt.Fprintf(tw, "params:\t%d\n", info.Params)
	fmt.Fprintf(tw, "dim:\t%d\n", cfg.Dim)
	fmt.Fprintf(tw, "hidden_dim:\t%d\n", cfg.HiddenDim)
	fmt.Fprintf(tw, "layers:\t%d\n", cfg.Layers)
	fmt.Fprintf(tw, "heads:\t%d (head size %d)\n", cfg.Heads, cfg.HeadSize())
	fmt.Fprintf(tw, "kv_heads:\t%d\n", cfg.KVHeads)
	fmt.Fprintf(tw, "vocab_size:\t%d\n", cfg.VocabSize)
	fmt.Fprintf(tw, "context:\t%d\n", cfg.SeqLen)
	fmt.Fprintf(tw, "classifier:\t%s\n", classifier)
	fmt.Fprintf(tw, "file size:\t%d bytes\n", cfg.FileSize())
	return tw.Flush()
}
