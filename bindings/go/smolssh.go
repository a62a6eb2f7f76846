// Package smolssh runs commands on a VM guest over one persistent SSH connection, through the
// smol-ssh C library (found with pkg-config: install it with `make install`).
//
// A Client is safe for use from many goroutines at once; their commands run concurrently as
// channels of the one connection.
package smolssh

/*
#cgo pkg-config: smol-ssh
#include <stdlib.h>
#include <smol_ssh.h>

extern int32_t smolsshGoOutput(void *user, int32_t stream, uint8_t *data, size_t len);
static smol_ssh_output_fn smolssh_output_trampoline(void) {
	return (smol_ssh_output_fn)smolsshGoOutput;
}
extern int32_t smolsshGoHostKey(void *user, char *key_type, char *fingerprint, uint8_t *key, size_t len);
static smol_ssh_host_key_fn smolssh_host_key_trampoline(void) {
	return (smol_ssh_host_key_fn)smolsshGoHostKey;
}
extern int32_t smolsshGoDial(void *user);
static smol_ssh_fd_fn smolssh_dial_trampoline(void) {
	return (smol_ssh_fd_fn)smolsshGoDial;
}
extern void smolsshGoLog(void *user, int32_t level, char *message);
static smol_ssh_log_fn smolssh_log_trampoline(void) {
	return (smol_ssh_log_fn)smolsshGoLog;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/cgo"
	"sort"
	"sync"
	"time"
	"unsafe"
)

// Status is the library's outcome of a call; the numbers are stable.
type Status int

const (
	StatusOK              Status = C.SMOL_SSH_STATUS_OK
	StatusInvalidArgument Status = C.SMOL_SSH_STATUS_INVALID_ARGUMENT
	StatusTimeout         Status = C.SMOL_SSH_STATUS_TIMEOUT
	StatusConnectFailed   Status = C.SMOL_SSH_STATUS_CONNECT_FAILED
	StatusAuthFailed      Status = C.SMOL_SSH_STATUS_AUTH_FAILED
	StatusHostKeyRejected Status = C.SMOL_SSH_STATUS_HOST_KEY_REJECTED
	StatusChannelFailed   Status = C.SMOL_SSH_STATUS_CHANNEL_FAILED
	StatusDisconnected    Status = C.SMOL_SSH_STATUS_DISCONNECTED
	StatusPanic           Status = C.SMOL_SSH_STATUS_PANIC
	StatusCancelled       Status = C.SMOL_SSH_STATUS_CANCELLED
	StatusRemoteFailed    Status = C.SMOL_SSH_STATUS_REMOTE_FAILED
	StatusTooLarge        Status = C.SMOL_SSH_STATUS_TOO_LARGE
	StatusNotFound        Status = C.SMOL_SSH_STATUS_NOT_FOUND
	StatusPermission      Status = C.SMOL_SSH_STATUS_PERMISSION_DENIED
	StatusNotADirectory   Status = C.SMOL_SSH_STATUS_NOT_A_DIRECTORY
)

func (s Status) String() string { return C.GoString(C.smol_ssh_status_str(C.int32_t(s))) }

// Sentinel errors, for errors.Is. Every error this package returns is an *Error that matches
// exactly one of them (a timeout also matches context.DeadlineExceeded).
var (
	ErrInvalidArgument = errors.New("smolssh: invalid argument")
	ErrTimeout         = errors.New("smolssh: timeout")
	ErrConnectFailed   = errors.New("smolssh: connect failed")
	ErrAuthFailed      = errors.New("smolssh: authentication failed")
	ErrHostKeyRejected = errors.New("smolssh: host key rejected")
	ErrChannelFailed   = errors.New("smolssh: channel or exec failed")
	ErrDisconnected    = errors.New("smolssh: disconnected")
	ErrInternal        = errors.New("smolssh: internal error")
	ErrCancelled       = errors.New("smolssh: cancelled")
	ErrRemoteFailed    = errors.New("smolssh: failed on the guest")
	ErrTooLarge        = errors.New("smolssh: larger than allowed")
	// ErrNotFound, ErrPermissionDenied and ErrNotADirectory come from file operations and
	// SFTP transfers; they also match ErrRemoteFailed, and fs.ErrNotExist / fs.ErrPermission.
	ErrNotFound         = errors.New("smolssh: no such file or directory")
	ErrPermissionDenied = errors.New("smolssh: permission denied")
	ErrNotADirectory    = errors.New("smolssh: not a directory")
)

var sentinels = map[Status]error{
	StatusInvalidArgument: ErrInvalidArgument,
	StatusTimeout:         ErrTimeout,
	StatusConnectFailed:   ErrConnectFailed,
	StatusAuthFailed:      ErrAuthFailed,
	StatusHostKeyRejected: ErrHostKeyRejected,
	StatusChannelFailed:   ErrChannelFailed,
	StatusDisconnected:    ErrDisconnected,
	StatusPanic:           ErrInternal,
	StatusCancelled:       ErrCancelled,
	StatusRemoteFailed:    ErrRemoteFailed,
	StatusTooLarge:        ErrTooLarge,
	StatusNotFound:        ErrNotFound,
	StatusPermission:      ErrPermissionDenied,
	StatusNotADirectory:   ErrNotADirectory,
}

// Error is a failed call: its status, the library's message and, for a run that failed after
// it started (a timeout, a lost connection), the output that came before.
type Error struct {
	Status  Status
	Message string
	Stdout  []byte
	Stderr  []byte

	byContext bool // cancelled because the Run's context was
}

func (e *Error) Error() string { return fmt.Sprintf("smolssh: %s: %s", e.Status, e.Message) }

// Is makes errors.Is(err, ErrTimeout) and friends work.
func (e *Error) Is(target error) bool {
	if e.Status == StatusTimeout && target == context.DeadlineExceeded {
		return true
	}
	if e.Status == StatusCancelled && target == context.Canceled && e.byContext {
		return true
	}
	switch e.Status {
	case StatusNotFound, StatusPermission, StatusNotADirectory:
		if target == ErrRemoteFailed ||
			(e.Status == StatusNotFound && target == fs.ErrNotExist) ||
			(e.Status == StatusPermission && target == fs.ErrPermission) {
			return true
		}
	}
	return sentinels[e.Status] == target
}

func invalid(format string, args ...interface{}) error {
	return &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// ShellKind is the guest's shell, for login-shell wrapping.
type ShellKind int

const (
	ShellSh         ShellKind = C.SMOL_SSH_SHELL_KIND_SH
	ShellPowerShell ShellKind = C.SMOL_SSH_SHELL_KIND_POWERSHELL
	ShellCmd        ShellKind = C.SMOL_SSH_SHELL_KIND_CMD
)

// ShellMode says how a command is handed to the guest.
type ShellMode int

const (
	Login ShellMode = C.SMOL_SSH_SHELL_MODE_LOGIN // in a login shell of the client's ShellKind
	Raw   ShellMode = C.SMOL_SSH_SHELL_MODE_RAW   // as given
)

// Options for New. Zero values mean the library's defaults: user "root", port 22, connect
// timeout 10 s, shell sh, keepalive check after 15 s of silence (negative: off), dead after 3
// unanswered intervals, 64 MiB kept per output stream (negative: no limit).
type Options struct {
	Host               string
	User               string
	Port               int
	KeyPath            string
	KeyPassphrase      string
	Password           string
	ConnectTimeout     time.Duration
	ShellKind          ShellKind
	HostKeyFingerprint string // "SHA256:..." pin (replaces HostKeyPolicy)
	// HostKeyFingerprints are more pins: a key with any pinned fingerprint is accepted
	// (a guest whose key is about to change, several host key types).
	HostKeyFingerprints []string
	HostKeyPolicy       HostKeyPolicy
	// HostKeyCallback, when set, decides host keys (replaces the policy and pin): given the
	// key's type ("ssh-ed25519"), fingerprint ("SHA256:...") and bytes, true accepts. It runs
	// on the client's internal thread during connects; a panic in it refuses the key.
	HostKeyCallback      func(keyType, fingerprint string, key []byte) bool
	KnownHosts           string // OpenSSH known_hosts file
	KnownHostsAddUnknown bool
	KeepaliveInterval    time.Duration
	KeepaliveCountMax    int
	MaxOutputBytes       int64

	// How the guest's sshd is reached: at most one of UnixSocket, HybridVsock, VsockCID and
	// Dial; none means TCP to Host:Port (IPv6 literals with or without brackets). Host still
	// names the guest (messages, known_hosts). Every transport has the same deadlines,
	// keepalive and reconnects, and WaitForSSH probes over it.
	UnixSocket string // a Unix socket the VMM or a helper exposes
	// HybridVsock is the VMM's Unix socket of Firecracker's or Cloud Hypervisor's hybrid
	// vsock; the client writes "CONNECT VsockPort" (bounded by the connect timeout).
	HybridVsock string
	VsockCID    uint32 // AF_VSOCK (VsockCID, VsockPort); CID 2 (the host) is refused
	VsockPort   uint32 // the guest's vsock port for HybridVsock or VsockCID
	// Dial, when set, makes a connected stream to the guest's sshd; it is called at every
	// connect (the first and each reconnect), on the client's internal thread. The client
	// takes a duplicate of the file's descriptor and closes the file. An error, a nil file or
	// a panic fails that connect with StatusConnectFailed.
	Dial func() (*os.File, error)
	// Jump reaches the guest through another client's connection (ProxyJump). The jump
	// client must stay open while this one is used; closing it fails later connects.
	Jump *Jump

	// FileTransfer chooses how PutFile, GetFile and friends move files (FileTransferAuto, the
	// default: exec channels on POSIX guests, SFTP on PowerShell/cmd guests). File
	// operations (Stat, ListDir, ...) always use SFTP.
	FileTransfer FileTransfer
	// Ciphers to offer, most preferred first, comma-separated OpenSSH names
	// ("aes128-gcm@openssh.com,chacha20-poly1305@openssh.com"); empty keeps libssh2's list.
	Ciphers string
	// Log, when set, is told what the client does on its own: connect attempts and their
	// errors, the host key seen and how it was accepted, the identity that authenticated,
	// lost connections and reconnects, keepalive verdicts, calls that timed out and the
	// commands killed for them, WaitForSSH's probes (LogDebug). It runs on the client's
	// internal thread and must not block; a panic in it is dropped. No message carries a
	// secret or a command line. Nil (the default) logs nothing and costs nothing.
	Log func(level LogLevel, message string)
}

// LogLevel is how much a log message matters (the library's smol_ssh_log_level).
type LogLevel int

const (
	LogInfo    LogLevel = C.SMOL_SSH_LOG_LEVEL_INFO
	LogWarning LogLevel = C.SMOL_SSH_LOG_LEVEL_WARNING
	LogError   LogLevel = C.SMOL_SSH_LOG_LEVEL_ERROR
	LogDebug   LogLevel = C.SMOL_SSH_LOG_LEVEL_DEBUG
)

func (l LogLevel) String() string {
	switch l {
	case LogInfo:
		return "info"
	case LogWarning:
		return "warning"
	case LogError:
		return "error"
	case LogDebug:
		return "debug"
	}
	return fmt.Sprintf("LogLevel(%d)", int(l))
}

// HostKeyPolicy chooses how unknown host keys are treated: refused by default.
type HostKeyPolicy int

const (
	// HostKeyUserKnownHosts checks the user's own ~/.ssh/known_hosts, strictly (the default).
	HostKeyUserKnownHosts HostKeyPolicy = C.SMOL_SSH_HOST_KEY_POLICY_USER_KNOWN_HOSTS
	// HostKeyAcceptFirst trusts the key of the first connection that authenticates (fresh VM guests).
	HostKeyAcceptFirst HostKeyPolicy = C.SMOL_SSH_HOST_KEY_POLICY_ACCEPT_FIRST
	// HostKeyAcceptAny accepts any key without checking it.
	HostKeyAcceptAny HostKeyPolicy = C.SMOL_SSH_HOST_KEY_POLICY_ACCEPT_ANY
)

// Stream says which output stream a chunk came from.
type Stream int

const (
	Stdout Stream = C.SMOL_SSH_STREAM_STDOUT
	Stderr Stream = C.SMOL_SSH_STREAM_STDERR
)

// RunOptions for Client.Run. Zero values: timeout 30 s (or the context's deadline, whichever
// is sooner), login shell, stdin closed, no extra environment, output collected.
type RunOptions struct {
	Timeout time.Duration
	Mode    ShellMode
	// Stdin is fed to the command while its output is read, then EOF.
	Stdin []byte
	// Env sets variables for this run (quoted for the guest's shell by the library: they are
	// part of the command line, which other users of the guest can read).
	Env map[string]string
	// SecretEnv sets variables whose values travel on the command's stdin, never in its
	// command line (POSIX guests).
	SecretEnv map[string]string
	// OnOutput, if set, receives each chunk of output as it arrives, on the goroutine that
	// called Run, instead of it being collected (Result.Stdout/Stderr stay empty). Returning
	// false stops the command; Run then returns an error matching ErrCancelled.
	OnOutput func(stream Stream, chunk []byte) bool
}

// Result is what a command returned.
type Result struct {
	ExitCode        int    // -1 when unknown (killed by a signal, or no status sent); else 0..4294967295
	ExitSignal      string // "KILL", ... or ""
	Stdout          []byte // exact bytes
	Stderr          []byte
	Elapsed         time.Duration
	StdoutTruncated bool
	StderrTruncated bool
}

// OK reports whether the command exited with status 0.
func (r Result) OK() bool { return r.ExitCode == 0 }

// Output is stdout without leading and trailing whitespace: the bytes Python's bytes.strip()
// removes (space, \t, \n, \v, \f, \r), as in every binding.
func (r Result) Output() string {
	isSpace := func(b byte) bool { return b == ' ' || (b >= '\t' && b <= '\r') }
	s, e := 0, len(r.Stdout)
	for s < e && isSpace(r.Stdout[s]) {
		s++
	}
	for e > s && isSpace(r.Stdout[e-1]) {
		e--
	}
	return string(r.Stdout[s:e])
}

// Client runs commands on one guest over one persistent connection, made on first use.
type Client struct {
	mu     sync.RWMutex // runs hold it shared; Close holds it exclusively to free the handle
	handle *C.smol_ssh_client
	// release frees what the handle's options point to (a host-key callback's handle).
	release func()
	jump    *Client
}

func cstring(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func millis(d time.Duration) C.uint64_t {
	if d < 0 {
		return 0
	}
	return C.uint64_t(d / time.Millisecond)
}

// New validates the options and makes a client; it does not connect.
func New(o Options) (*Client, error) {
	opts := C.smol_ssh_options_new()
	if opts == nil {
		return nil, &Error{Status: StatusPanic, Message: "smol_ssh_options_new failed"}
	}
	defer C.smol_ssh_options_free(opts)
	strs := []*C.char{}
	str := func(s string) *C.char {
		c := cstring(s)
		strs = append(strs, c)
		return c
	}
	defer func() {
		for _, s := range strs {
			C.free(unsafe.Pointer(s))
		}
	}()
	if o.Host == "" {
		return nil, invalid("option host must not be empty")
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, invalid("option port %d is not within 1-65535", o.Port)
	}
	C.smol_ssh_options_set_host(opts, str(o.Host))
	if o.User != "" {
		C.smol_ssh_options_set_user(opts, str(o.User))
	}
	if o.Port != 0 {
		C.smol_ssh_options_set_port(opts, C.uint32_t(o.Port))
	}
	C.smol_ssh_options_set_key_path(opts, str(o.KeyPath))
	C.smol_ssh_options_set_key_passphrase(opts, str(o.KeyPassphrase))
	C.smol_ssh_options_set_password(opts, str(o.Password))
	if o.ConnectTimeout != 0 {
		C.smol_ssh_options_set_connect_timeout_ms(opts, millis(o.ConnectTimeout))
	}
	C.smol_ssh_options_set_shell_kind(opts, C.int32_t(o.ShellKind))
	if o.KnownHosts != "" {
		C.smol_ssh_options_set_known_hosts(opts, str(o.KnownHosts), C.bool(o.KnownHostsAddUnknown))
	}
	C.smol_ssh_options_set_host_key_policy(opts, C.int32_t(o.HostKeyPolicy))
	for _, pin := range o.HostKeyFingerprints {
		C.smol_ssh_options_set_host_key_fingerprint(opts, str(pin))
	}
	if o.HostKeyFingerprint != "" {
		C.smol_ssh_options_set_host_key_fingerprint(opts, str(o.HostKeyFingerprint))
	}
	switch {
	case o.KeepaliveInterval < 0:
		C.smol_ssh_options_set_keepalive_interval_ms(opts, 0)
	case o.KeepaliveInterval > 0:
		C.smol_ssh_options_set_keepalive_interval_ms(opts, millis(o.KeepaliveInterval))
	}
	if o.KeepaliveCountMax != 0 {
		C.smol_ssh_options_set_keepalive_count_max(opts, C.uint32_t(o.KeepaliveCountMax))
	}
	switch {
	case o.MaxOutputBytes < 0:
		C.smol_ssh_options_set_max_output_bytes(opts, 0)
	case o.MaxOutputBytes > 0:
		C.smol_ssh_options_set_max_output_bytes(opts, C.uint64_t(o.MaxOutputBytes))
	}
	if err := setTransport(opts, o, str); err != nil {
		return nil, err
	}
	var releases []func()
	release := func() {
		for _, r := range releases {
			r()
		}
	}
	if o.HostKeyCallback != nil {
		user, free := handleFor(o.HostKeyCallback)
		releases = append(releases, free)
		C.smol_ssh_options_set_host_key_callback(opts, C.smolssh_host_key_trampoline(), user)
	}
	if o.Dial != nil {
		user, free := handleFor(o.Dial)
		releases = append(releases, free)
		C.smol_ssh_options_set_fd_callback(opts, C.smolssh_dial_trampoline(), user)
	}
	if o.Log != nil {
		user, free := handleFor(o.Log)
		releases = append(releases, free)
		C.smol_ssh_options_set_log_callback(opts, C.smolssh_log_trampoline(), user)
	}
	if o.Ciphers != "" {
		C.smol_ssh_options_set_ciphers(opts, str(o.Ciphers))
	}
	// A bad value is reported by smol_ssh_new, like every option's.
	C.smol_ssh_options_set_file_transfer(opts, C.int32_t(o.FileTransfer))
	var handle *C.smol_ssh_client
	if e := C.smol_ssh_new(opts, &handle); e != nil {
		err := &Error{Status: Status(C.smol_ssh_error_status(e)), Message: C.GoString(C.smol_ssh_error_message(e))}
		C.smol_ssh_error_free(e)
		release()
		return nil, err
	}
	c := &Client{handle: handle, release: release}
	if o.Jump != nil {
		c.jump = o.Jump.Via // kept reachable while this client lives
	}
	runtime.SetFinalizer(c, func(c *Client) { _ = c.Close() })
	return c, nil
}

// setTransport applies the one transport option set, if any.
func setTransport(opts *C.smol_ssh_options, o Options, str func(string) *C.char) error {
	set := 0
	for _, on := range []bool{o.UnixSocket != "", o.HybridVsock != "", o.VsockCID != 0, o.Dial != nil, o.Jump != nil} {
		if on {
			set++
		}
	}
	if set > 1 {
		return invalid("options UnixSocket, HybridVsock, VsockCID, Dial and Jump exclude each other")
	}
	var s C.smol_ssh_status = C.SMOL_SSH_STATUS_OK
	what := ""
	switch {
	case o.UnixSocket != "":
		s, what = C.smol_ssh_options_set_unix_socket(opts, str(o.UnixSocket)), "UnixSocket"
	case o.HybridVsock != "":
		s, what = C.smol_ssh_options_set_hybrid_vsock(opts, str(o.HybridVsock), C.uint32_t(o.VsockPort)), "HybridVsock"
	case o.VsockCID != 0:
		s, what = C.smol_ssh_options_set_vsock(opts, C.uint32_t(o.VsockCID), C.uint32_t(o.VsockPort)), "VsockCID"
	case o.Jump != nil:
		if o.Jump.Via == nil || o.Jump.Via.handle == nil {
			return invalid("option Jump: Via is not an open client")
		}
		if o.Jump.Port <= 0 || o.Jump.Port > 65535 {
			return invalid("option Jump: port %d is not within 1-65535", o.Jump.Port)
		}
		s, what = C.smol_ssh_options_set_jump(opts, o.Jump.Via.handle, str(o.Jump.Host), C.uint32_t(o.Jump.Port)), "Jump"
	}
	if s != C.SMOL_SSH_STATUS_OK {
		return invalid("option %s: %s", what, C.GoString(C.smol_ssh_status_str(C.int32_t(s))))
	}
	return nil
}

// handleFor puts a cgo handle of v in C memory (the user pointer of a callback), with the
// function that frees both.
func handleFor(v any) (unsafe.Pointer, func()) {
	h := cgo.NewHandle(v)
	user := C.malloc(C.size_t(unsafe.Sizeof(h)))
	*(*cgo.Handle)(user) = h
	return user, func() { h.Delete(); C.free(user) }
}

// goBytes copies C bytes into Go memory (C.GoBytes takes a C int: it overflows at 2 GiB).
func goBytes(data *C.uint8_t, length C.size_t) []byte {
	if length == 0 {
		return []byte{}
	}
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(data)), int(length))...)
}

// take copies a C result into Go memory and frees it.
func take(r *C.smol_ssh_result) (Status, string, Result) {
	defer C.smol_ssh_result_free(r)
	res := Result{
		ExitCode:        -1,
		Stdout:          goBytes(r.stdout_data, r.stdout_len),
		Stderr:          goBytes(r.stderr_data, r.stderr_len),
		Elapsed:         time.Duration(r.elapsed_us) * time.Microsecond,
		StdoutTruncated: bool(r.stdout_truncated),
		StderrTruncated: bool(r.stderr_truncated),
	}
	if r.has_exit_status {
		// The full unsigned status (Windows guests send values above 2^31).
		res.ExitCode = int(r.exit_status)
	}
	if r.exit_signal != nil {
		res.ExitSignal = C.GoString(r.exit_signal)
	}
	msg := ""
	if r.error_message != nil {
		msg = C.GoString(r.error_message)
	}
	return Status(r.status), msg, res
}

var errClosed = &Error{Status: StatusInvalidArgument, Message: "the client is closed"}

// Run runs cmd and returns its result. A non-zero exit status is not an error (see
// Result.OK); a timeout, a cancellation, a connection problem or a bad argument is, as an
// *Error.
//
// The timeout is opts.Timeout (default 30 s) or the context's deadline, whichever is sooner.
// Cancelling the context stops the command on the guest; Run then returns an error matching
// both ErrCancelled and context.Canceled.
func (c *Client) Run(ctx context.Context, cmd string, opts *RunOptions) (Result, error) {
	if opts == nil {
		opts = &RunOptions{}
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); left < timeout {
			timeout = left
		}
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	ro, cleanup, sink, err := newRunOptions(timeout, opts)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	// A token per run, triggered if the context is cancelled while the run is in flight.
	token := C.smol_ssh_cancel_new()
	defer C.smol_ssh_cancel_free(token)
	C.smol_ssh_run_options_set_cancel(ro, token)
	stopWatching := make(chan struct{})
	defer close(stopWatching)
	go func() {
		select {
		case <-ctx.Done():
			// A passed deadline is the run's own timeout, reported as such by the library.
			if ctx.Err() == context.Canceled {
				C.smol_ssh_cancel_trigger(token)
			}
		case <-stopWatching:
		}
	}()

	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return Result{}, errClosed
	}
	ccmd := C.CString(cmd)
	defer C.free(unsafe.Pointer(ccmd))
	status, msg, res := take(C.smol_ssh_run_with(c.handle, ccmd, ro))
	if sink != nil && sink.panicked {
		// OnOutput panicked: the run was stopped (the panic never crossed the library), and
		// the panic goes on here, on the caller's goroutine.
		panic(sink.value)
	}
	if status != StatusOK {
		return Result{}, &Error{Status: status, Message: msg, Stdout: res.Stdout, Stderr: res.Stderr,
			byContext: status == StatusCancelled && ctx.Err() != nil}
	}
	return res, nil
}

// outputSink is what the library's output callback reaches through its cgo.Handle: the
// caller's OnOutput, and a panic of it, recovered before it could unwind into the library.
type outputSink struct {
	f        func(Stream, []byte) bool
	panicked bool
	value    interface{}
}

// setVars hands vars to set, in name order (so that the command line is the same each time).
func setVars(ro *C.smol_ssh_run_options, vars map[string]string, set func(*C.smol_ssh_run_options, *C.char, *C.char)) {
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		cname, cvalue := C.CString(name), C.CString(vars[name])
		set(ro, cname, cvalue)
		C.free(unsafe.Pointer(cname))
		C.free(unsafe.Pointer(cvalue))
	}
}

// newRunOptions builds the C run options (only C memory reaches C); cleanup frees them.
func newRunOptions(timeout time.Duration, opts *RunOptions) (*C.smol_ssh_run_options, func(), *outputSink, error) {
	ro := C.smol_ssh_run_options_new()
	frees := []func(){func() { C.smol_ssh_run_options_free(ro) }}
	cleanup := func() {
		for i := len(frees) - 1; i >= 0; i-- {
			frees[i]()
		}
	}
	C.smol_ssh_run_options_set_timeout_ms(ro, millis(timeout))
	C.smol_ssh_run_options_set_shell_mode(ro, C.int32_t(opts.Mode))
	if len(opts.Stdin) > 0 {
		data := C.CBytes(opts.Stdin)
		C.smol_ssh_run_options_set_stdin(ro, (*C.uint8_t)(data), C.size_t(len(opts.Stdin)))
		C.free(data) // copied by the library
	}
	setVars(ro, opts.Env, func(ro *C.smol_ssh_run_options, n, v *C.char) { C.smol_ssh_run_options_set_env(ro, n, v) })
	setVars(ro, opts.SecretEnv, func(ro *C.smol_ssh_run_options, n, v *C.char) {
		C.smol_ssh_run_options_set_secret_env(ro, n, v)
	})
	var sink *outputSink
	if opts.OnOutput != nil {
		sink = &outputSink{f: opts.OnOutput}
		h := cgo.NewHandle(sink)
		user := C.malloc(C.size_t(unsafe.Sizeof(h)))
		*(*cgo.Handle)(user) = h
		frees = append(frees, func() { h.Delete(); C.free(user) })
		C.smol_ssh_run_options_set_output_callback(ro, C.smolssh_output_trampoline(), user)
	}
	return ro, cleanup, sink, nil
}

func (c *Client) transfer(timeout time.Duration, call func(*C.smol_ssh_client, *C.smol_ssh_run_options) *C.smol_ssh_result) ([]byte, error) {
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	ro, cleanup, _, err := newRunOptions(timeout, &RunOptions{})
	if err != nil {
		return nil, err
	}
	defer cleanup()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return nil, errClosed
	}
	status, msg, res := take(call(c.handle, ro))
	if status != StatusOK {
		return nil, &Error{Status: status, Message: msg}
	}
	return res.Stdout, nil
}

// PutFile uploads the local file to remote (a directory gets the file name appended), keeping
// its permission bits, and returns the path written (over exec channels or SFTP, as
// Options.FileTransfer chose). Timeout 0: 5 min.
func (c *Client) PutFile(local, remote string, timeout time.Duration) (string, error) {
	cl, cr := C.CString(local), C.CString(remote)
	defer C.free(unsafe.Pointer(cl))
	defer C.free(unsafe.Pointer(cr))
	out, err := c.transfer(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		return C.smol_ssh_put_file(h, cl, cr, o)
	})
	return string(out), err
}

// PutBytes writes data to the file remote with the given mode and returns the path written.
func (c *Client) PutBytes(data []byte, remote string, mode uint32, timeout time.Duration) (string, error) {
	cr := C.CString(remote)
	defer C.free(unsafe.Pointer(cr))
	cdata := C.CBytes(data)
	defer C.free(cdata)
	out, err := c.transfer(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		return C.smol_ssh_put_bytes(h, (*C.uint8_t)(cdata), C.size_t(len(data)), cr, C.uint32_t(mode), o)
	})
	return string(out), err
}

// GetFile downloads remote to local (parents created); more than maxBytes is ErrTooLarge and
// writes nothing.
func (c *Client) GetFile(remote, local string, maxBytes uint64, timeout time.Duration) error {
	cr, cl := C.CString(remote), C.CString(local)
	defer C.free(unsafe.Pointer(cr))
	defer C.free(unsafe.Pointer(cl))
	_, err := c.transfer(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		return C.smol_ssh_get_file(h, cr, cl, C.uint64_t(maxBytes), o)
	})
	return err
}

// GetBytes reads the file remote (at most maxBytes, else ErrTooLarge).
func (c *Client) GetBytes(remote string, maxBytes uint64, timeout time.Duration) ([]byte, error) {
	cr := C.CString(remote)
	defer C.free(unsafe.Pointer(cr))
	return c.transfer(timeout, func(h *C.smol_ssh_client, o *C.smol_ssh_run_options) *C.smol_ssh_result {
		return C.smol_ssh_get_bytes(h, cr, C.uint64_t(maxBytes), o)
	})
}

// WaitForSSH waits until the guest answers with an SSH banner and a full connect succeeds,
// within timeout, backing off up to interval (0: 100 ms) between tries. The connection is kept.
func (c *Client) WaitForSSH(timeout, interval time.Duration) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return errClosed
	}
	status, msg, _ := take(C.smol_ssh_wait(c.handle, millis(timeout), millis(interval)))
	if status != StatusOK {
		return &Error{Status: status, Message: msg}
	}
	return nil
}

// Connected reports whether the connection is alive.
func (c *Client) Connected() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.handle != nil && bool(C.smol_ssh_connected(c.handle))
}

// HostKeyFingerprint is the fingerprint ("SHA256:...") of the host key the server presented
// at the last connect, accepted or not ("" before any): a refused key can be shown and pinned.
func (c *Client) HostKeyFingerprint() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle == nil {
		return ""
	}
	var buf [128]C.char
	if C.smol_ssh_host_key_fingerprint(c.handle, &buf[0], C.size_t(len(buf))) == 0 {
		return ""
	}
	return C.GoString(&buf[0])
}

// Disconnect closes the connection; runs in flight end with ErrDisconnected and the next run
// reconnects. Idempotent.
func (c *Client) Disconnect() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.handle != nil {
		C.smol_ssh_close(c.handle)
	}
}

// Close ends the client for good: runs in flight end with ErrDisconnected, then the library's
// handle is freed. Safe to call more than once and concurrently with runs.
func (c *Client) Close() error {
	c.Disconnect() // makes runs in flight return, so the exclusive lock comes promptly
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handle != nil {
		C.smol_ssh_free(c.handle)
		c.handle = nil
		if c.release != nil {
			c.release()
			c.release = nil
		}
	}
	return nil
}

// Version is the C library's version.
func Version() string { return C.GoString(C.smol_ssh_version()) }

// SetDriverThreads sets how many driver threads serve all the clients of the process (the
// threads that own the connections); 0 is the default (SMOL_SSH_DRIVER_THREADS, else the
// number of cores). Clients already started stay where they are; later ones use the new size.
func SetDriverThreads(threads int) error {
	if threads < 0 || threads > 1024 {
		return &Error{Status: StatusInvalidArgument, Message: "threads must be within 0-1024"}
	}
	if st := C.smol_ssh_set_driver_threads(C.size_t(threads)); st != 0 {
		return &Error{Status: Status(st), Message: "set_driver_threads failed"}
	}
	return nil
}

// DriverThreads is how many driver threads serve the process's clients at most.
func DriverThreads() int { return int(C.smol_ssh_driver_threads()) }
