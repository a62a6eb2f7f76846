package smolssh

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// echoService listens on the guest's loopback (the test sshd runs here) and echoes.
func echoService(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func echoThrough(t *testing.T, conn interface {
	io.ReadWriter
	CloseWrite() error
}, data []byte) []byte {
	t.Helper()
	go func() {
		conn.Write(data)
		conn.CloseWrite()
	}()
	back, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestOpenStreamAndForward(t *testing.T) {
	c := client(t)
	service := echoService(t)
	data := bytes.Repeat([]byte("smol-ssh "), 200000)

	s, err := c.OpenStream("127.0.0.1", service, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if back := echoThrough(t, s, data); !bytes.Equal(back, data) {
		t.Fatalf("stream: %d bytes back of %d", len(back), len(data))
	}
	s.Close()
	if _, err := c.OpenStream("127.0.0.1", 1, 10*time.Second); !errors.Is(err, ErrChannelFailed) {
		t.Fatalf("refused stream: %v", err)
	}

	fwd, err := c.ForwardLocal("127.0.0.1:0", "127.0.0.1", service, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close()
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(fwd.Port()))
	if err != nil {
		t.Fatal(err)
	}
	if back := echoThrough(t, conn.(*net.TCPConn), data); !bytes.Equal(back, data) {
		t.Fatalf("forward: %d bytes back of %d", len(back), len(data))
	}
	conn.Close()
	st := fwd.Stats()
	if st.Connections != 1 || st.BytesToGuest != uint64(len(data)) || st.BytesFromGuest != uint64(len(data)) {
		t.Fatalf("stats %+v", st)
	}
	if _, err := c.ForwardLocal("not an address", "127.0.0.1", service, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad listen address: %v", err)
	}
	fwd.Close()
	fwd.Close()
}

func TestJumpThroughAnotherClient(t *testing.T) {
	g := guest(t)
	via := client(t)
	target := g
	target.Host = "127.0.0.1"
	target.Jump = &Jump{Via: via, Host: g.Host, Port: g.Port}
	c, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Run(context.Background(), "echo jumped", nil)
	if err != nil || r.Output() != "jumped" {
		t.Fatalf("jump: %v %q", err, r.Output())
	}
}
