// Bench peer: smol-ssh through its Go binding (cgo). Usage: smolgo FIGURE N
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	smolssh "github.com/smol-ssh/smol-ssh/bindings/go"
)

const (
	loginTrue = `SHELL_BIN="${SHELL:-/bin/sh}"; exec "$SHELL_BIN" -lc true`
	big       = "head -c 100000000 /dev/zero"
	bigBytes  = 100000000
)

func main() {
	figure := os.Args[1]
	n := 1
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	port, _ := strconv.Atoi(os.Getenv("SMOL_SSH_PORT"))
	c, err := smolssh.New(smolssh.Options{
		Host: os.Getenv("SMOL_SSH_HOST"), Port: port, User: os.Getenv("SMOL_SSH_USER"),
		KeyPath: os.Getenv("SMOL_SSH_KEY"), MaxOutputBytes: -1,
		Ciphers: os.Getenv("BENCH_CIPHER"),
		// The bench's own sshd, made for this run: trusted on first use.
		HostKeyPolicy: smolssh.HostKeyAcceptFirst,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()
	raw := &smolssh.RunOptions{Mode: smolssh.Raw, Timeout: 10 * time.Minute}
	run := func(cmd string) smolssh.Result {
		r, err := c.Run(context.Background(), cmd, raw)
		if err != nil {
			fmt.Fprintln(os.Stderr, "run:", err)
			os.Exit(1)
		}
		return r
	}
	run("true")
	fmt.Println("cipher", cipherName())
	switch figure {
	case "warm", "login":
		cmd := "true"
		if figure == "login" {
			cmd = loginTrue
		}
		for i := 0; i < n; i++ {
			t := time.Now()
			run(cmd)
			fmt.Printf("sample %.4f\n", float64(time.Since(t).Microseconds())/1e3)
		}
	case "throughput":
		for i := 0; i < n; i++ {
			t := time.Now()
			if r := run(big); len(r.Stdout) != bigBytes {
				os.Exit(1)
			}
			fmt.Printf("sample %.2f\n", 100/time.Since(t).Seconds())
		}
	case "parallel":
		t := time.Now()
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); run("sleep 0.2") }()
		}
		wg.Wait()
		fmt.Printf("sample %.4f\n", time.Since(t).Seconds())
	case "rate":
		left := make(chan struct{}, 200)
		for i := 0; i < 200; i++ {
			left <- struct{}{}
		}
		close(left)
		t := time.Now()
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range left {
					run("true")
				}
			}()
		}
		wg.Wait()
		fmt.Printf("sample %.1f\n", 200/time.Since(t).Seconds())
	}
}

func cipherName() string {
	if c := os.Getenv("BENCH_CIPHER"); c != "" {
		return c
	}
	return "libssh2 default"
}
