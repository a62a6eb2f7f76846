package smolssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// guest is the sshd tests/go.sh (through with_sshd) points us at.
func guest(t *testing.T) Options {
	t.Helper()
	host := os.Getenv("SMOL_SSH_HOST")
	if host == "" {
		t.Fatal("SMOL_SSH_HOST is not set: run these tests through tests/go.sh")
	}
	port, _ := strconv.Atoi(os.Getenv("SMOL_SSH_PORT"))
	return Options{Host: host, Port: port, User: os.Getenv("SMOL_SSH_USER"), KeyPath: os.Getenv("SMOL_SSH_KEY"),
		HostKeyFingerprint: os.Getenv("SMOL_SSH_HOST_KEY")}
}

func client(t *testing.T) *Client {
	t.Helper()
	c, err := New(guest(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRunReturnsExitCodeAndBothStreams(t *testing.T) {
	c := client(t)
	r, err := c.Run(context.Background(), "printf '  hi  \\n'; printf 'err' >&2; exit 3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 3 || r.OK() || string(r.Stdout) != "  hi  \n" || string(r.Stderr) != "err" || r.Output() != "hi" {
		t.Fatalf("unexpected result %+v", r)
	}
}

func TestBytesAreExact(t *testing.T) {
	r, err := client(t).Run(context.Background(), `printf 'a\000b\377'`, &RunOptions{Mode: Raw})
	if err != nil || string(r.Stdout) != "a\x00b\xff" {
		t.Fatalf("%q %v", r.Stdout, err)
	}
}

func TestTimeoutIsAnErrorWithThePartialOutput(t *testing.T) {
	c := client(t)
	start := time.Now()
	_, err := c.Run(context.Background(), "echo before; sleep 5", &RunOptions{Timeout: time.Second, Mode: Raw})
	if took := time.Since(start); took > 1300*time.Millisecond {
		t.Fatalf("took %v", took)
	}
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a timeout, got %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusTimeout || string(e.Stdout) != "before\n" {
		t.Fatalf("want *Error with partial stdout, got %#v", err)
	}
	if r, err := c.Run(context.Background(), "echo after", nil); err != nil || r.Output() != "after" {
		t.Fatalf("the client did not go on: %v", err)
	}
}

func TestContextDeadlineBoundsTheRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := client(t).Run(ctx, "sleep 5", nil)
	if !errors.Is(err, ErrTimeout) || time.Since(start) > 1800*time.Millisecond {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

func TestCancellingTheContextStopsTheCommand(t *testing.T) {
	c := client(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := c.Run(ctx, "echo started; sleep 10", &RunOptions{Timeout: 20 * time.Second, Mode: Raw})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCancelled) || time.Since(start) > time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
	var e *Error
	if !errors.As(err, &e) || string(e.Stdout) != "started\n" {
		t.Fatalf("partial output: %#v", err)
	}
	if r, err := c.Run(context.Background(), "echo next", nil); err != nil || r.Output() != "next" {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestStdinEnvAndStreaming(t *testing.T) {
	c := client(t)
	r, err := c.Run(context.Background(), `cat; printf '|%s' "$GREETING"`,
		&RunOptions{Stdin: []byte("in\x00put"), Env: map[string]string{"GREETING": "it's me"}})
	if err != nil || string(r.Stdout) != "in\x00put|it's me" {
		t.Fatalf("%q %v", r.Stdout, err)
	}
	var got []string
	r, err = c.Run(context.Background(), "echo a; sleep 0.2; echo b >&2", &RunOptions{Mode: Raw,
		OnOutput: func(s Stream, chunk []byte) bool {
			got = append(got, fmt.Sprintf("%d:%s", s, chunk))
			return true
		}})
	if err != nil || len(r.Stdout) != 0 || fmt.Sprint(got) != "[0:a\n 1:b\n]" {
		t.Fatalf("%v %v", got, err)
	}
	start := time.Now()
	_, err = c.Run(context.Background(), "echo go; sleep 10", &RunOptions{Mode: Raw,
		OnOutput: func(Stream, []byte) bool { return false }})
	if !errors.Is(err, ErrCancelled) || errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("stop: %v after %v", err, time.Since(start))
	}
}

func TestFileTransfer(t *testing.T) {
	c := client(t)
	dir, err := os.MkdirTemp("", "smolssh-go-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	local := dir + "/local.txt"
	if err := os.WriteFile(local, []byte("hi\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	shared := dir + "/shared"
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(shared, 0o777)
	written, err := c.PutFile(local, shared, 0)
	if err != nil || written != shared+"/local.txt" {
		t.Fatalf("put: %q %v", written, err)
	}
	if st, _ := os.Stat(written); st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", st.Mode())
	}
	if b, err := c.GetBytes(written, 100, 0); err != nil || string(b) != "hi\n" {
		t.Fatalf("get: %q %v", b, err)
	}
	if err := c.GetFile(written, dir+"/x/y/back.txt", 100, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBytes([]byte{0, 255}, shared+"/raw.bin", 0o600, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBytes(written, 2, 0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	if _, err := c.GetBytes(shared+"/missing", 100, 0); !errors.Is(err, ErrRemoteFailed) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := c.PutFile(dir+"/missing", shared, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("missing local: %v", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	c := client(t)
	for _, cmd := range []string{"", "   "} {
		if _, err := c.Run(context.Background(), cmd, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("%q: %v", cmd, err)
		}
	}
	if _, err := c.Run(context.Background(), "true", &RunOptions{Timeout: 10 * time.Millisecond}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("short timeout: %v", err)
	}
	if _, err := New(Options{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("no host: %v", err)
	}
	if _, err := New(Options{Host: "h", Port: 70000}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad port: %v", err)
	}
}

func TestConnectionErrors(t *testing.T) {
	g := guest(t)
	cases := []struct {
		name string
		o    Options
		want error
	}{
		{"refused", Options{Host: g.Host, Port: 1, ConnectTimeout: 2 * time.Second}, ErrConnectFailed},
		{"bad key", Options{Host: g.Host, Port: g.Port, User: g.User, KeyPath: "/nonexistent/key",
			HostKeyFingerprint: g.HostKeyFingerprint}, ErrAuthFailed},
		{"no host key policy chosen", Options{Host: g.Host, Port: g.Port, User: g.User, KeyPath: g.KeyPath}, ErrHostKeyRejected},
		{"pinned", Options{Host: g.Host, Port: g.Port, User: g.User, KeyPath: g.KeyPath,
			HostKeyFingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, ErrHostKeyRejected},
	}
	for _, tc := range cases {
		c, err := New(tc.o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Run(context.Background(), "true", nil)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: want %v, got %v", tc.name, tc.want, err)
		}
		if tc.want == ErrHostKeyRejected && c.HostKeyFingerprint() != g.HostKeyFingerprint {
			t.Errorf("%s: presented %q, want %q", tc.name, c.HostKeyFingerprint(), g.HostKeyFingerprint)
		}
		_ = c.Close()
	}
}

func TestAcceptFirstTrustsTheFirstKey(t *testing.T) {
	g := guest(t)
	c, err := New(Options{Host: g.Host, Port: g.Port, User: g.User, KeyPath: g.KeyPath,
		HostKeyPolicy: HostKeyAcceptFirst})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Run(context.Background(), "echo ok", nil)
	if err != nil || r.Output() != "ok" {
		t.Fatalf("accept-first: %v %q", err, r.Output())
	}
}

func TestHostKeyCallbackDecides(t *testing.T) {
	g := guest(t)
	var seenType, seenFP string
	var seenLen int
	c, err := New(Options{Host: g.Host, Port: g.Port, User: g.User, KeyPath: g.KeyPath,
		HostKeyCallback: func(keyType, fingerprint string, key []byte) bool {
			seenType, seenFP, seenLen = keyType, fingerprint, len(key)
			return fingerprint == g.HostKeyFingerprint
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Run(context.Background(), "true", nil); err != nil {
		t.Fatal(err)
	}
	if seenType != "ssh-ed25519" || seenFP != g.HostKeyFingerprint || seenLen != 51 {
		t.Fatalf("callback saw %q %q %d", seenType, seenFP, seenLen)
	}
	panicky, err := New(Options{Host: g.Host, Port: g.Port, User: g.User, KeyPath: g.KeyPath,
		HostKeyCallback: func(string, string, []byte) bool { panic("no") }})
	if err != nil {
		t.Fatal(err)
	}
	defer panicky.Close()
	if _, err := panicky.Run(context.Background(), "true", nil); !errors.Is(err, ErrHostKeyRejected) {
		t.Fatalf("a panicking callback: want host key rejected, got %v", err)
	}
}

func TestAPanicInOnOutputStopsTheRunAndReachesTheCaller(t *testing.T) {
	c := client(t)
	defer func() {
		if v := recover(); v != "boom" {
			t.Fatalf("want the callback's panic, got %v", v)
		}
		// The client was left usable: the call returned and counted itself out.
		if r, err := c.Run(context.Background(), "echo after", nil); err != nil || r.Output() != "after" {
			t.Fatalf("after the panic: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	_, _ = c.Run(context.Background(), "while :; do echo tick; sleep 0.05; done",
		&RunOptions{Timeout: 10 * time.Second, Mode: Raw, OnOutput: func(Stream, []byte) bool { panic("boom") }})
	t.Fatal("Run returned without the panic")
}

func TestSecretEnvStaysOutOfTheCommandLine(t *testing.T) {
	c := client(t)
	r, err := c.Run(context.Background(), `printf %s "$TOKEN"; tr '\0' ' ' < /proc/$$/cmdline`,
		&RunOptions{Mode: Raw, SecretEnv: map[string]string{"TOKEN": "hush"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Stdout[:4]) != "hush" || bytes.Contains(r.Stdout[4:], []byte("hush")) {
		t.Fatalf("got %q", r.Stdout)
	}
}

func TestManyGoroutinesShareOneClient(t *testing.T) {
	c := client(t)
	var wg sync.WaitGroup
	errs := make(chan error, 32*10)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				marker := fmt.Sprintf("g%d-%d", g, i)
				r, err := c.Run(context.Background(), "echo "+marker, &RunOptions{Mode: Raw})
				if err != nil || r.Output() != marker {
					errs <- fmt.Errorf("%s: %q %v", marker, r.Stdout, err)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseEndsRunsInFlightAndLaterCallsFail(t *testing.T) {
	c, err := New(guest(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForSSH(10*time.Second, 0); err != nil || !c.Connected() {
		t.Fatalf("wait: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), "sleep 10", nil)
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	_ = c.Close()
	if err := <-done; !errors.Is(err, ErrDisconnected) {
		t.Fatalf("run in flight: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("Close took %v", time.Since(start))
	}
	if _, err := c.Run(context.Background(), "true", nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("after Close: %v", err)
	}
	_ = c.Close()
	if c.Connected() {
		t.Fatal("connected after Close")
	}
}

func TestOutputStripsWhatPythonStrips(t *testing.T) {
	r := Result{Stdout: []byte("\v\f\t x\vy \r\n\v")}
	if r.Output() != "x\vy" {
		t.Fatalf("%q", r.Output())
	}
	if (Result{Stdout: []byte("\xa0x\xa0")}).Output() != "\xa0x\xa0" {
		t.Fatal("a byte Python's bytes.strip() keeps was stripped")
	}
}

func TestDriverThreadsServeManyClients(t *testing.T) {
	if err := SetDriverThreads(-1); err == nil {
		t.Fatal("SetDriverThreads(-1) accepted")
	}
	if err := SetDriverThreads(5000); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("SetDriverThreads(5000): %v", err)
	}
	if DriverThreads() < 1 {
		t.Fatalf("DriverThreads() = %d", DriverThreads())
	}
	// Many clients, each with a command running at once, through the shared driver threads.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		c := client(t)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := c.Run(context.Background(), fmt.Sprintf("echo %d", i), nil)
			if err == nil && string(r.Stdout) != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("client %d: %q", i, r.Stdout)
			}
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
