package main

// The servers under load run in a child process of the load tool (unless
// -in-process): the same binary started with -serve-child. That is how
// replayhook runs in production, with a heap and a garbage collector of its
// own; in one process, the load generator's allocations would trigger the
// server's GC cycles (over its whole index) and the peak RSS would mix
// both. Both processes still share the machine's CPUs, as the issue asks.
//
// Protocol: the child prints "url <base URL>" when it listens, and lines
// starting with "info " that the parent prints. It then reads commands on
// stdin, one per line, answering each with one line: "profile <file>"
// starts a CPU profile ("ok"), "unprofile" stops it ("ok"), "rss" answers
// "rss <VmHWM>", "cpu" answers "cpu <user+system CPU time in ns>". It
// exits when stdin closes.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// serveChild runs one server ("replayhook" or "baseline") until stdin closes.
func serveChild(o options, kind, storeCfg string, stdin io.Reader, out io.Writer) error {
	var (
		base string
		stop func()
		err  error
	)
	switch kind {
	case "baseline":
		base, stop, err = startBaseline()
	case "replayhook":
		base, stop, err = startReplayhook(o, storeCfg, prefixWriter{w: out, prefix: "info "})
	default:
		err = fmt.Errorf("-serve-child %q: replayhook or baseline", kind)
	}
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(out, "url %s\n", base)
	in := bufio.NewScanner(stdin)
	var prof *os.File
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "profile":
			if prof, err = os.Create(arg); err == nil {
				err = pprof.StartCPUProfile(prof)
			}
			reply(out, "ok", err)
		case "unprofile":
			pprof.StopCPUProfile()
			if prof != nil {
				err = prof.Close()
			}
			reply(out, "ok", err)
		case "rss":
			fmt.Fprintf(out, "rss %s\n", vmHWM())
		case "cpu":
			fmt.Fprintf(out, "cpu %d\n", int64(selfCPU()))
		default:
			fmt.Fprintf(out, "error unknown command %q\n", cmd)
		}
	}
	return in.Err()
}

func reply(out io.Writer, ok string, err error) {
	if err != nil {
		fmt.Fprintf(out, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	fmt.Fprintln(out, ok)
}

// prefixWriter prefixes every line written to it.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
				return 0, err
			}
		}
	}
	return len(b), nil
}

// child is a server process started by spawn.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines *bufio.Scanner
	out   io.Writer
	done  chan struct{}
	URL   string
}

// spawn starts this binary with -serve-child kind and the given flags, and
// waits until the child listens. Its "info" lines are copied to out.
func spawn(kind string, flags []string, out io.Writer) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append([]string{"-serve-child", kind}, flags...)...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, in: in, lines: bufio.NewScanner(stdout), out: out, done: make(chan struct{})}
	line, err := c.next()
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("%s server: %w", kind, err)
	}
	u, ok := strings.CutPrefix(line, "url ")
	if !ok {
		c.stop()
		return nil, fmt.Errorf("%s server: unexpected %q", kind, line)
	}
	c.URL = u
	return c, nil
}

// next returns the child's next line that is not an "info" line.
func (c *child) next() (string, error) {
	for c.lines.Scan() {
		line := c.lines.Text()
		if info, ok := strings.CutPrefix(line, "info "); ok {
			fmt.Fprintln(c.out, info)
			continue
		}
		return line, nil
	}
	if err := c.lines.Err(); err != nil {
		return "", err
	}
	return "", errors.New("server process exited")
}

// call sends one command and returns the child's answer.
func (c *child) call(cmd string) (string, error) {
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return "", err
	}
	line, err := c.next()
	if err != nil {
		return "", err
	}
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return "", errors.New(msg)
	}
	return line, nil
}

// cpu is the child's CPU time so far (user + system); 0 for a nil child or
// when it cannot tell.
func (c *child) cpu() time.Duration {
	if c == nil {
		return 0
	}
	line, err := c.call("cpu")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(line, "cpu "), 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(n)
}

// selfCPU is this process's CPU time so far (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stop closes the child's stdin (it stops its server and exits) and waits.
func (c *child) stop() {
	_ = c.in.Close()
	_ = c.cmd.Wait()
}
