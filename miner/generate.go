package miner

import (
	"bufio"
	"fmt"
	"time"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/inference"
)

func generateCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate",
		Usage: "generate text locally, like llama2.c's run",
		Description: "Prints the prompt and its completion to stdout and the speed to stderr. " +
			"Without flags it samples from the built-in merit-tiny.",
		Flags: append(modelFlags(""),
			&cli.StringFlag{Name: "prompt", Usage: "prompt `TEXT` (default: none, start from BOS)", EnvVars: []string{"MERIT_PROMPT"}},
			&cli.IntFlag{Name: "steps", Aliases: []string{"n"}, Value: 256, Usage: "tokens to generate, 0 for up to the context length", EnvVars: []string{"MERIT_STEPS"}},
			&cli.Float64Flag{Name: "temperature", Aliases: []string{"t"}, Value: 1.0, Usage: "0 is greedy decoding", EnvVars: []string{"MERIT_TEMPERATURE"}},
			&cli.Float64Flag{Name: "top-p", Value: 0.9, Usage: "nucleus sampling; 0 or 1 disables it", EnvVars: []string{"MERIT_TOP_P"}},
			&cli.Uint64Flag{Name: "seed", Aliases: []string{"s"}, Usage: "sampling seed; 0 takes one from the clock (printed to stderr)", EnvVars: []string{"MERIT_SEED"}},
			&cli.BoolFlag{Name: "echo", Value: true, Usage: "print the prompt before the completion", EnvVars: []string{"MERIT_ECHO"}},
		),
		Action: runGenerate,
	}
}

func runGenerate(c *cli.Context) error {
	if c.Int("steps") < 0 {
		return fmt.Errorf("--steps %d is negative", c.Int("steps"))
	}
	e, err := loadEngine(c)
	if err != nil {
		return err
	}
	seed := c.Uint64("seed")
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	req := inference.GenerateRequest{
		Prompt: c.String("prompt"), MaxTokens: c.Int("steps"),
		Temperature: c.Float64("temperature"), TopP: c.Float64("top-p"), Seed: seed,
	}
	out := bufio.NewWriter(c.App.Writer)
	if c.Bool("echo") {
		out.WriteString(c.String("prompt"))
	}
	out.Flush()
	start := time.Now()
	res, err := e.Generate(c.Context, req, func(t inference.Token) error {
		if printable(t.Text) {
			out.WriteString(t.Text)
		}
		return out.Flush()
	})
	if err != nil {
		return err
	}
	out.WriteString("\n")
	if err := out.Flush(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(c.App.ErrWriter, "model %s, seed %d, %d prompt + %d tokens, finish %s\n",
		e.Info().ID, seed, len(res.PromptTokens), len(res.Tokens), res.FinishReason)
	fmt.Fprintf(c.App.ErrWriter, "achieved tok/s: %.1f\n", float64(len(res.Tokens))/elapsed.Seconds())
	return nil
}

// printable is run.c's safe_printf rule: a piece that is one byte must be
// printable or whitespace (raw byte tokens can be control codes).
func printable(s string) bool {
	if len(s) != 1 {
		return true
	}
	b := rune(s[0])
	return unicode.IsPrint(b) || unicode.IsSpace(b)
}
