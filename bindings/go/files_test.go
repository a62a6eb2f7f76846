package smolssh

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// shared is a folder the guest account may write (the sshd runs on this machine).
func shared(t *testing.T) string {
	d, err := os.MkdirTemp("", "smol-ssh-gofiles-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o777)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func TestFileOperations(t *testing.T) {
	c := client(t)
	d := shared(t)
	odd := filepath.Join(d, "-it's a\nname")
	if err := c.Mkdir(filepath.Join(odd, "deeper"), true, 0); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d, "f.txt"), []byte("12345"), 0o640)
	os.Chmod(filepath.Join(d, "f.txt"), 0o640)
	info, err := c.Stat(filepath.Join(d, "f.txt"), 0)
	if err != nil || info.Type != TypeFile || info.Size != 5 || info.Mode != 0o640 || info.ModTime.IsZero() {
		t.Fatalf("%+v %v", info, err)
	}
	list, err := c.ListDir(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name)
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "-it's a\nname" || names[1] != "f.txt" {
		t.Fatalf("%q", names)
	}
	if err := c.Rename(filepath.Join(d, "f.txt"), filepath.Join(d, "g.txt"), 0); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Exists(filepath.Join(d, "f.txt"), 0); ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
	_, err = c.Stat(filepath.Join(d, "f.txt"), 0)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrRemoteFailed) {
		t.Fatalf("stat of nothing: %v", err)
	}
	if _, err := c.ListDir(filepath.Join(d, "g.txt"), 0); !errors.Is(err, ErrNotADirectory) {
		t.Fatalf("list of a file: %v", err)
	}
	if err := c.Remove(filepath.Join(d, "g.txt"), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveDir(filepath.Join(odd, "deeper"), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveDir(odd, 0); err != nil {
		t.Fatal(err)
	}
}

func TestTransfersOverSFTP(t *testing.T) {
	o := guest(t)
	o.FileTransfer = FileTransferSFTP
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := shared(t)
	target := filepath.Join(d, "up.bin")
	if got, err := c.PutBytes([]byte("\x00data\xff"), target, 0o600, 0); err != nil || got != target {
		t.Fatalf("%q %v", got, err)
	}
	if b, err := c.GetBytes(target, 100, 0); err != nil || string(b) != "\x00data\xff" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := c.GetBytes(filepath.Join(d, "missing"), 100, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("%v", err)
	}
	o.FileTransfer = 9
	if _, err := New(o); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a bad FileTransfer: %v", err)
	}
}
