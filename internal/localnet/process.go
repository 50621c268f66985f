package localnet

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Process is a daemon started for a test or the demo, appending its output
// to a log file. The chain node, the miners and validators of the topology
// and the devnet nodes all run as one.
type Process struct {
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartProcess runs bin with args, appending stdout and stderr to log.
func StartProcess(bin string, args []string, log string) (*Process, error) {
	logf, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &Process{Log: log, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	dieWithParent(p.cmd)
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

// Running reports whether the process has not exited.
func (p *Process) Running() bool {
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop ends the process: SIGTERM and up to grace to finish, or with kill a
// SIGKILL like a crash. It waits for the exit either way.
func (p *Process) Stop(kill bool, grace time.Duration) {
	if !p.Running() {
		return
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Tail returns the last n lines of a log, for failure messages.
func Tail(path string, n int) string {
	bz, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(bz), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
