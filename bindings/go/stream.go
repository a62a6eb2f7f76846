package smolssh

/*
#include <stdlib.h>
#include <smol_ssh.h>
*/
import "C"

import (
	"net"
	"os"
	"sync"
	"time"
	"unsafe"
)

// Jump reaches a client's guest through another client's connection, as OpenSSH's
// ProxyJump: at every connect, Via opens a stream to Host:Port as it sees them.
type Jump struct {
	Via  *Client
	Host string
	Port int
}

// OpenStream opens a stream to host:port as the guest sees them ("127.0.0.1" is the guest
// itself), carried by a direct-tcpip channel of the client's connection (connecting first if
// needed), within timeout. Closing the write half (CloseWrite) sends EOF to the service. A
// refusal by the guest's sshd is ErrChannelFailed and leaves the connection alone. The stream
// ends when either side ends it or when the connection goes.
func (c *Client) OpenStream(host string, port int, timeout time.Duration) (*net.UnixConn, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return nil, errClosed
	}
	if port <= 0 || port > 65535 {
		return nil, invalid("port %d is not within 1-65535", port)
	}
	chost := C.CString(host)
	defer C.free(unsafe.Pointer(chost))
	var fd C.int32_t = -1
	status, msg, _ := take(C.smol_ssh_open_stream(c.handle, chost, C.uint32_t(port), millis(timeout), &fd))
	if status != StatusOK {
		return nil, &Error{Status: status, Message: msg}
	}
	f := os.NewFile(uintptr(fd), "smol-ssh stream")
	defer f.Close()
	conn, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	return conn.(*net.UnixConn), nil
}

// Forward is a running local forward (see ForwardLocal). Safe for concurrent use.
type Forward struct {
	mu     sync.Mutex
	handle *C.smol_ssh_forward
}

// ForwardStats is what a forward has carried so far.
type ForwardStats struct {
	Connections    uint64 // accepted
	Active         uint64 // streams open now
	Failed         uint64 // refused, not opened in time, or cut by a lost connection
	BytesToGuest   uint64
	BytesFromGuest uint64
}

// ForwardLocal listens on listen and carries each accepted connection to host:port as the
// guest sees them, like `ssh -L`, on the client's connection beside its runs. listen is a TCP
// address ("127.0.0.1:8080", "[::1]:0": port 0 picks one, see Port) or, starting with '/', a
// Unix socket path (which must not exist; removed by Close). At most maxConns streams at once
// (0: 64); more wait in the listen backlog. Close stops accepting; streams already open go on
// until either side ends them. Closing the client stops the listener too.
func (c *Client) ForwardLocal(listen, host string, port int, maxConns int) (*Forward, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return nil, errClosed
	}
	if port <= 0 || port > 65535 {
		return nil, invalid("port %d is not within 1-65535", port)
	}
	if maxConns < 0 {
		return nil, invalid("maxConns must not be negative")
	}
	clisten, chost := C.CString(listen), C.CString(host)
	defer C.free(unsafe.Pointer(clisten))
	defer C.free(unsafe.Pointer(chost))
	var h *C.smol_ssh_forward
	if e := C.smol_ssh_forward_local(c.handle, clisten, chost, C.uint32_t(port), C.uint32_t(maxConns), &h); e != nil {
		err := &Error{Status: Status(C.smol_ssh_error_status(e)), Message: C.GoString(C.smol_ssh_error_message(e))}
		C.smol_ssh_error_free(e)
		return nil, err
	}
	return &Forward{handle: h}, nil
}

// Port is the TCP port the forward listens on (0 for a Unix socket).
func (f *Forward) Port() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int(C.smol_ssh_forward_port(f.handle))
}

// Stats returns the forward's counts.
func (f *Forward) Stats() ForwardStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s C.smol_ssh_forward_stats
	if f.handle == nil || C.smol_ssh_forward_get_stats(f.handle, &s) != C.SMOL_SSH_STATUS_OK {
		return ForwardStats{}
	}
	return ForwardStats{uint64(s.connections), uint64(s.active), uint64(s.failed),
		uint64(s.bytes_to_guest), uint64(s.bytes_from_guest)}
}

// Close stops the forward and frees it. Idempotent.
func (f *Forward) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.handle != nil {
		C.smol_ssh_forward_free(f.handle)
		f.handle = nil
	}
	return nil
}
