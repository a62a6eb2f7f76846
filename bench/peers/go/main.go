// Bench peer: Go's golang.org/x/crypto/ssh (Debian's package), one client, a session per
// command. Usage: gopeer FIGURE N
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

const loginTrue = `SHELL_BIN="${SHELL:-/bin/sh}"; exec "$SHELL_BIN" -lc true`

func main() {
	figure := os.Args[1]
	n := 1
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	key, err := os.ReadFile(os.Getenv("SMOL_SSH_KEY"))
	check(err)
	signer, err := ssh.ParsePrivateKey(key)
	check(err)
	cfg := &ssh.ClientConfig{
		User:            os.Getenv("SMOL_SSH_USER"),
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	}
	cipher := "default (x/crypto does not report it)"
	if c := os.Getenv("BENCH_CIPHER"); c != "" {
		cfg.Ciphers = []string{c}
		cipher = c
	}
	conn, err := net.Dial("tcp", net.JoinHostPort(os.Getenv("SMOL_SSH_HOST"), os.Getenv("SMOL_SSH_PORT")))
	check(err)
	c, chans, reqs, err := ssh.NewClientConn(conn, "", cfg)
	check(err)
	client := ssh.NewClient(c, chans, reqs)
	fmt.Println("cipher", cipher)
	run := func(cmd string) int {
		s, err := client.NewSession()
		check(err)
		var out countWriter
		s.Stdout = &out
		s.Stderr = io.Discard
		check(s.Run(cmd))
		return out.n
	}
	run("true")
	switch figure {
	case "warm", "login":
		cmd := "true"
		if figure == "login" {
			cmd = loginTrue
		}
		for i := 0; i < n; i++ {
			t := time.Now()
			run(cmd)
			fmt.Printf("sample %.4f\n", float64(time.Since(t).Nanoseconds())/1e6)
		}
	case "throughput":
		for i := 0; i < n; i++ {
			t := time.Now()
			if run("head -c 100000000 /dev/zero") != 100000000 {
				panic("short read")
			}
			fmt.Printf("sample %.2f\n", 100/time.Since(t).Seconds())
		}
	case "parallel", "rate":
		k, total, cmd := n, 200, "true"
		if figure == "parallel" {
			k, total, cmd = 8, 8, "sleep 0.2"
		}
		var mu sync.Mutex
		left := total
		var wg sync.WaitGroup
		t := time.Now()
		for i := 0; i < k; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					mine := left > 0
					left--
					mu.Unlock()
					if !mine {
						return
					}
					run(cmd)
				}
			}()
		}
		wg.Wait()
		secs := time.Since(t).Seconds()
		if figure == "parallel" {
			fmt.Printf("sample %.4f\n", secs)
		} else {
			fmt.Printf("sample %.1f\n", float64(total)/secs)
		}
	}
	client.Close()
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
