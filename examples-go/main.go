// A Go program using smol-ssh from a checkout, as the README's "Go" steps describe: run a
// command on the guest named by SMOL_SSH_HOST (SMOL_SSH_PORT, SMOL_SSH_USER, SMOL_SSH_KEY,
// SMOL_SSH_HOST_KEY: the pinned "SHA256:..." fingerprint), logging what the client does.
//
//	PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig go build && ./smolssh-example
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	smolssh "github.com/smol-ssh/smol-ssh/bindings/go"
)

func main() {
	port, _ := strconv.Atoi(os.Getenv("SMOL_SSH_PORT"))
	c, err := smolssh.New(smolssh.Options{
		Host:               os.Getenv("SMOL_SSH_HOST"),
		Port:               port,
		User:               os.Getenv("SMOL_SSH_USER"),
		KeyPath:            os.Getenv("SMOL_SSH_KEY"),
		HostKeyFingerprint: os.Getenv("SMOL_SSH_HOST_KEY"),
		Log:                func(level smolssh.LogLevel, msg string) { log.Printf("smol-ssh %v: %s", level, msg) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitForSSH(10*time.Second, 100*time.Millisecond); err != nil {
		log.Fatal(err)
	}
	r, err := c.Run(context.Background(), "echo hello from $(uname -s)", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("exit %d: %s\n", r.ExitCode, r.Output())
}
