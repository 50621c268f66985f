package daemon

import (
	"bytes"
	"testing"

	"github.com/urfave/cli/v2"
)

// testApp has two commands with the common flags, as the daemons do:
// serve with flags of its own (one a list), and status with another.
// Each action hands its context to got.
func testApp(got func(*cli.Context) error) *cli.App {
	return &cli.App{
		Name: "merit-test",
		Commands: []*cli.Command{
			{
				Name: "serve",
				Flags: append(CommonFlags("~/.merit-test", FlagUsage{}),
					&cli.StringFlag{Name: "listen", EnvVars: EnvOf("listen"), Value: "127.0.0.1:1", Usage: "address"},
					&cli.StringSliceFlag{Name: "allow", EnvVars: EnvOf("allow"), Usage: "addresses"},
				),
				Before: ApplyConfigFile,
				Action: got,
			},
			{
				Name:   "status",
				Flags:  append(CommonFlags("~/.merit-test", FlagUsage{}), &cli.StringFlag{Name: "output", Usage: "format"}),
				Before: ApplyConfigFile,
				Action: got,
			},
		},
	}
}

// run runs testApp with args and returns the context its action saw.
func run(t *testing.T, args ...string) (*cli.Context, error) {
	t.Helper()
	var seen *cli.Context
	app := testApp(func(c *cli.Context) error { seen = c; return nil })
	app.Writer, app.ErrWriter = &bytes.Buffer{}, &bytes.Buffer{}
	err := app.Run(append([]string{"merit-test"}, args...))
	return seen, err
}
