package smolssh

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// logged collects what a client's Log function is told.
type logged struct {
	mu    sync.Mutex
	lines []string
}

func (l *logged) add(level LogLevel, message string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level.String()+": "+message)
}

func (l *logged) has(t *testing.T, level LogLevel, words ...string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if !strings.HasPrefix(line, level.String()+": ") {
			continue
		}
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return
		}
	}
	t.Fatalf("no %v line with %q in %q", level, words, l.lines)
}

func TestLogIsToldWhatTheClientDoes(t *testing.T) {
	var l logged
	o := guest(t)
	o.Log = l.add
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Run(context.Background(), "true", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), "sleep 10", &RunOptions{Timeout: time.Second}); err == nil {
		t.Fatal("no timeout")
	}
	l.has(t, LogInfo, "connected to", "cipher")
	l.has(t, LogInfo, "authenticated")
	l.has(t, LogWarning, "timed out")
}

func TestAPanickingLogIsDropped(t *testing.T) {
	o := guest(t)
	o.Log = func(LogLevel, string) { panic("log handler bug") }
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r, err := c.Run(context.Background(), "echo fine", nil); err != nil || r.Output() != "fine" {
		t.Fatalf("%v %q", err, r.Output())
	}
}

func TestCiphersChooseTheCipher(t *testing.T) {
	var l logged
	o := guest(t)
	o.Ciphers = "aes128-ctr"
	o.Log = l.add
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Run(context.Background(), "true", nil); err != nil {
		t.Fatal(err)
	}
	l.has(t, LogInfo, "cipher aes128-ctr")
	o.Ciphers = "no-such-cipher"
	o.Log = nil
	if bad, err := New(o); err == nil {
		_, err = bad.Run(context.Background(), "true", nil)
		bad.Close()
		if err == nil {
			t.Fatal("an unknown cipher connected")
		}
	}
}

func TestSeveralPinsAcceptAnyOfThem(t *testing.T) {
	o := guest(t)
	wrong := "SHA256:" + strings.Repeat("A", 43)
	o.HostKeyFingerprints = []string{wrong}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r, err := c.Run(context.Background(), "echo pinned", nil); err != nil || r.Output() != "pinned" {
		t.Fatalf("%v %q", err, r.Output())
	}
	o.HostKeyFingerprint = ""
	bad, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := bad.Run(context.Background(), "true", nil); !errors.Is(err, ErrHostKeyRejected) {
		t.Fatalf("only a wrong pin: %v", err)
	}
}
