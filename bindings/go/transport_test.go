package smolssh

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
)

// unixBridge listens on a Unix socket in a scratch folder and forwards each connection to
// the test sshd over TCP, as a VMM's or a helper's socket would.
func unixBridge(t *testing.T, g Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "guest.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	target := net.JoinHostPort(g.Host, strconv.Itoa(g.Port))
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return path
}

func TestUnixSocketTransport(t *testing.T) {
	g := guest(t)
	g.UnixSocket = unixBridge(t, g)
	g.Host, g.Port = "guest", 0
	c, err := New(g)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Run(context.Background(), "echo over-unix", nil)
	if err != nil || r.Output() != "over-unix" {
		t.Fatalf("unix socket: %v %q", err, r.Output())
	}
}

func TestDialGivesAFreshStreamAtEveryConnect(t *testing.T) {
	g := guest(t)
	target := net.JoinHostPort(g.Host, strconv.Itoa(g.Port))
	var calls atomic.Int32
	g.Dial = func() (*os.File, error) {
		calls.Add(1)
		conn, err := net.Dial("tcp", target)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		return conn.(*net.TCPConn).File()
	}
	g.Host, g.Port = "guest", 0
	c, err := New(g)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 2; i++ {
		r, err := c.Run(context.Background(), "echo dialed", nil)
		if err != nil || r.Output() != "dialed" {
			t.Fatalf("dial, connect %d: %v %q", i+1, err, r.Output())
		}
		c.Disconnect()
	}
	if calls.Load() != 2 {
		t.Fatalf("Dial called %d times for two connects", calls.Load())
	}
}

func TestTransportErrors(t *testing.T) {
	g := guest(t)
	base := Options{Host: "guest", User: g.User, KeyPath: g.KeyPath, HostKeyFingerprint: g.HostKeyFingerprint}

	two := base
	two.UnixSocket, two.VsockCID = "/x", 3
	if _, err := New(two); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("two transports: want invalid argument, got %v", err)
	}
	host := base
	host.VsockCID = 2
	if _, err := New(host); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("vsock CID 2: want invalid argument, got %v", err)
	}

	failing := []Options{base, base, base}
	failing[0].UnixSocket = filepath.Join(t.TempDir(), "missing.sock")
	failing[1].Dial = func() (*os.File, error) { return nil, errors.New("no guest") }
	failing[2].Dial = func() (*os.File, error) { panic("dialer bug") }
	for i, o := range failing {
		c, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Run(context.Background(), "true", nil); !errors.Is(err, ErrConnectFailed) {
			t.Errorf("case %d: want connect failed, got %v", i, err)
		}
		c.Close()
	}
}
