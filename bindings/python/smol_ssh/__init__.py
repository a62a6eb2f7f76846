"""smol-ssh for Python: run commands on a VM guest over one persistent SSH connection.

A thin ctypes layer over libsmol_ssh.so (no compiled extension), close to the reference
client's API::

    from smol_ssh import SSHClient

    with SSHClient("192.0.2.10", user="root", key_path="/root/.ssh/id_ed25519") as ssh:
        result = ssh.run("uname -a")
        print(result.exit_code, result.output)

The library is found through SMOL_SSH_LIBRARY (a path), else the system's library path
(``ctypes.util.find_library("smol_ssh")``), else this repository's target/release build.
An SSHClient may be used from many threads at once: calls release the GIL while they wait.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket
from ctypes import POINTER, Structure, c_bool, c_char_p, c_int32, c_size_t, c_uint32, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Optional

__all__ = [
    "SSHClient",
    "Result",
    "SmolSSHError",
    "InvalidArgument",
    "Timeout",
    "SSHConnectionError",
    "ConnectFailed",
    "AuthFailed",
    "HostKeyRejected",
    "Disconnected",
    "ChannelFailed",
    "InternalError",
    "Cancelled",
    "RemoteFailed",
    "TooLarge",
    "CancelToken",
    "version",
]


class SmolSSHError(Exception):
    """A call failed. ``status`` is the library's status number; for a run that failed after it
    started (a timeout, a lost connection), ``stdout`` and ``stderr`` hold what came before."""

    def __init__(self, status: int, message: str, stdout: bytes = b"", stderr: bytes = b""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.stdout = stdout
        self.stderr = stderr


class InvalidArgument(SmolSSHError, ValueError):
    """A bad argument or option (empty command, timeout below 1 s, unknown shell, ...)."""


class Timeout(SmolSSHError, TimeoutError):
    """A deadline passed; the message names the operation and the timeout."""


class SSHConnectionError(SmolSSHError, ConnectionError):
    """The connection could not be made or was lost."""


class ConnectFailed(SSHConnectionError):
    """TCP connect or the SSH handshake failed."""


class AuthFailed(SSHConnectionError):
    """Authentication failed, or the key file could not be used."""


class HostKeyRejected(SSHConnectionError):
    """The server's host key did not match the pinned, remembered or known_hosts key."""


class Disconnected(SSHConnectionError):
    """The connection was lost or closed while the call was in flight."""


class ChannelFailed(SmolSSHError):
    """The server refused to open a channel or to start the command."""


class InternalError(SmolSSHError):
    """A bug inside smol-ssh was caught; the client is unusable."""


class Cancelled(SmolSSHError):
    """The run was cancelled (a CancelToken, or on_output returned False); the remote command
    was stopped."""


class RemoteFailed(SmolSSHError, OSError):
    """A file operation failed on the guest (no such file, permission denied, ...)."""


class TooLarge(SmolSSHError):
    """The remote file is larger than max_bytes; nothing was written."""


_ERRORS = {
    1: InvalidArgument,
    2: Timeout,
    3: ConnectFailed,
    4: AuthFailed,
    5: HostKeyRejected,
    6: ChannelFailed,
    7: Disconnected,
    8: InternalError,
    9: Cancelled,
    10: RemoteFailed,
    11: TooLarge,
}

_SHELL_KINDS = {"sh": 0, "powershell": 1, "cmd": 2}
_SHELL_MODES = {"login": 0, "raw": 1}
# Unknown host keys are refused unless a policy that accepts them is chosen: "known_hosts"
# (the user's own ~/.ssh/known_hosts, strictly; the default), "accept_first" (trust on first
# use, for fresh VM guests), "accept_any" (no check). Pins and files have options of their own.
_HOST_KEY_POLICIES = {"known_hosts": 0, "accept_first": 1, "accept_any": 2}


class _CResult(Structure):
    # Mirrors smol_ssh_result in smol_ssh.h (fields are only ever appended).
    _fields_ = [
        ("status", c_int32),
        ("exit_code", c_int32),
        ("exit_signal", c_char_p),
        ("stdout_data", c_void_p),
        ("stdout_len", c_size_t),
        ("stderr_data", c_void_p),
        ("stderr_len", c_size_t),
        ("ok", c_bool),
        ("error_message", c_char_p),
        ("elapsed_us", c_uint64),
        ("stdout_truncated", c_bool),
        ("stderr_truncated", c_bool),
        ("has_exit_status", c_bool),
        ("exit_status", c_uint32),
    ]


# int32_t (*)(void *user, int32_t stream, const uint8_t *data, size_t len)
_OUTPUT_FN = ctypes.CFUNCTYPE(c_int32, c_void_p, c_int32, c_void_p, c_size_t)
# int32_t (*)(void *user, const char *key_type, const char *fingerprint, const uint8_t *key,
#             size_t key_len): 1 accepts
_HOST_KEY_FN = ctypes.CFUNCTYPE(c_int32, c_void_p, c_char_p, c_char_p, c_void_p, c_size_t)
class _CForwardStats(Structure):
    _fields_ = [(name, c_uint64) for name in
                ("connections", "active", "failed", "bytes_to_guest", "bytes_from_guest")]


# int32_t (*)(void *user): a connected descriptor the library then owns, or -1
_FD_FN = ctypes.CFUNCTYPE(c_int32, c_void_p)


def _find_library() -> str:
    explicit = os.environ.get("SMOL_SSH_LIBRARY")
    if explicit:
        return explicit
    found = ctypes.util.find_library("smol_ssh")
    if found:
        return found
    here = os.path.dirname(os.path.abspath(__file__))
    built = os.path.join(here, "..", "..", "..", "target", "release", "libsmol_ssh.so")
    if os.path.exists(built):
        return os.path.normpath(built)
    raise OSError(
        "libsmol_ssh.so not found: set SMOL_SSH_LIBRARY, install it (make install), "
        "or build it (make release)"
    )


def _load() -> ctypes.CDLL:
    lib = ctypes.CDLL(_find_library())
    sig = {
        "smol_ssh_version": ([], c_char_p),
        "smol_ssh_status_str": ([c_int32], c_char_p),
        "smol_ssh_options_new": ([], c_void_p),
        "smol_ssh_options_free": ([c_void_p], None),
        "smol_ssh_options_set_host": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_user": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_port": ([c_void_p, c_uint32], c_int32),
        "smol_ssh_options_set_key_path": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_key_passphrase": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_password": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_connect_timeout_ms": ([c_void_p, c_uint64], c_int32),
        "smol_ssh_options_set_shell_kind": ([c_void_p, c_int32], c_int32),
        "smol_ssh_options_set_host_key_fingerprint": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_host_key_policy": ([c_void_p, c_int32], c_int32),
        "smol_ssh_host_key_fingerprint": ([c_void_p, c_char_p, c_size_t], c_size_t),
        "smol_ssh_options_set_host_key_callback": ([c_void_p, _HOST_KEY_FN, c_void_p], c_int32),
        "smol_ssh_options_set_known_hosts": ([c_void_p, c_char_p, c_bool], c_int32),
        "smol_ssh_options_set_unix_socket": ([c_void_p, c_char_p], c_int32),
        "smol_ssh_options_set_hybrid_vsock": ([c_void_p, c_char_p, c_uint32], c_int32),
        "smol_ssh_options_set_vsock": ([c_void_p, c_uint32, c_uint32], c_int32),
        "smol_ssh_options_set_fd_callback": ([c_void_p, _FD_FN, c_void_p], c_int32),
        "smol_ssh_options_set_keepalive_interval_ms": ([c_void_p, c_uint64], c_int32),
        "smol_ssh_options_set_keepalive_count_max": ([c_void_p, c_uint32], c_int32),
        "smol_ssh_options_set_max_output_bytes": ([c_void_p, c_uint64], c_int32),
        "smol_ssh_new": ([c_void_p, POINTER(c_void_p)], c_void_p),
        "smol_ssh_error_status": ([c_void_p], c_int32),
        "smol_ssh_error_message": ([c_void_p], c_char_p),
        "smol_ssh_error_free": ([c_void_p], None),
        "smol_ssh_free": ([c_void_p], None),
        "smol_ssh_run": ([c_void_p, c_char_p, c_uint64, c_int32], POINTER(_CResult)),
        "smol_ssh_wait": ([c_void_p, c_uint64, c_uint64], POINTER(_CResult)),
        "smol_ssh_open_stream": ([c_void_p, c_char_p, c_uint32, c_uint64, POINTER(c_int32)], POINTER(_CResult)),
        "smol_ssh_options_set_jump": ([c_void_p, c_void_p, c_char_p, c_uint32], c_int32),
        "smol_ssh_forward_local": ([c_void_p, c_char_p, c_char_p, c_uint32, c_uint32, POINTER(c_void_p)], c_void_p),
        "smol_ssh_forward_port": ([c_void_p], c_uint32),
        "smol_ssh_forward_get_stats": ([c_void_p, POINTER(_CForwardStats)], c_int32),
        "smol_ssh_forward_free": ([c_void_p], None),
        "smol_ssh_result_free": ([POINTER(_CResult)], None),
        "smol_ssh_close": ([c_void_p], c_int32),
        "smol_ssh_connected": ([c_void_p], c_bool),
        "smol_ssh_run_options_new": ([], c_void_p),
        "smol_ssh_run_options_free": ([c_void_p], None),
        "smol_ssh_run_options_set_timeout_ms": ([c_void_p, c_uint64], c_int32),
        "smol_ssh_run_options_set_shell_mode": ([c_void_p, c_int32], c_int32),
        "smol_ssh_run_options_set_stdin": ([c_void_p, c_char_p, c_size_t], c_int32),
        "smol_ssh_run_options_set_env": ([c_void_p, c_char_p, c_char_p], c_int32),
        "smol_ssh_run_options_set_secret_env": ([c_void_p, c_char_p, c_char_p], c_int32),
        "smol_ssh_run_options_set_cancel": ([c_void_p, c_void_p], c_int32),
        "smol_ssh_run_options_set_output_callback": ([c_void_p, _OUTPUT_FN, c_void_p], c_int32),
        "smol_ssh_run_with": ([c_void_p, c_char_p, c_void_p], POINTER(_CResult)),
        "smol_ssh_cancel_new": ([], c_void_p),
        "smol_ssh_cancel_trigger": ([c_void_p], c_int32),
        "smol_ssh_cancel_is_triggered": ([c_void_p], c_bool),
        "smol_ssh_cancel_free": ([c_void_p], None),
        "smol_ssh_put_file": ([c_void_p, c_char_p, c_char_p, c_void_p], POINTER(_CResult)),
        "smol_ssh_put_bytes": ([c_void_p, c_char_p, c_size_t, c_char_p, c_uint32, c_void_p], POINTER(_CResult)),
        "smol_ssh_get_file": ([c_void_p, c_char_p, c_char_p, c_uint64, c_void_p], POINTER(_CResult)),
        "smol_ssh_get_bytes": ([c_void_p, c_char_p, c_uint64, c_void_p], POINTER(_CResult)),
    }
    for name, (args, ret) in sig.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ret
    return lib


_lib = _load()


class CancelToken:
    """Cancels the runs it is given to (``run(..., cancel=token)``), from any thread. A
    cancelled run raises Cancelled and its remote command is stopped. Cancelling is permanent."""

    def __init__(self):
        self._ptr = _lib.smol_ssh_cancel_new()

    def cancel(self) -> None:
        _lib.smol_ssh_cancel_trigger(self._ptr)

    @property
    def cancelled(self) -> bool:
        return bool(_lib.smol_ssh_cancel_is_triggered(self._ptr))

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            _lib.smol_ssh_cancel_free(ptr)


def version() -> str:
    """The library's version."""
    return _lib.smol_ssh_version().decode()


@dataclass(frozen=True)
class Result:
    """What a command returned. ``stdout`` and ``stderr`` are the exact bytes."""

    exit_code: Optional[int]
    exit_signal: Optional[str]
    stdout: bytes
    stderr: bytes
    elapsed: float
    stdout_truncated: bool = False
    stderr_truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.exit_code == 0

    @property
    def output(self) -> str:
        """stdout without leading and trailing whitespace, decoded as UTF-8 (invalid bytes
        become U+FFFD; the exact bytes are in ``stdout``)."""
        return self.stdout.strip().decode("utf-8", errors="replace")


def _ms(seconds: float, name: str) -> int:
    if seconds is None or seconds < 0:
        raise InvalidArgument(1, f"{name} must be a non-negative number of seconds")
    return int(round(seconds * 1000))


def _u32(value: int, name: str) -> int:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise InvalidArgument(1, f"{name} must be an integer within 0-4294967295")
    return value


def _take(ptr) -> tuple[int, str, Result]:
    """Copies a C result into Python objects and frees it."""
    try:
        r = ptr.contents
        stdout = ctypes.string_at(r.stdout_data, r.stdout_len)
        stderr = ctypes.string_at(r.stderr_data, r.stderr_len)
        message = r.error_message.decode("utf-8", "replace") if r.error_message else ""
        result = Result(
            # The full unsigned status (Windows guests send values above 2**31).
            exit_code=r.exit_status if r.has_exit_status else None,
            exit_signal=r.exit_signal.decode() if r.exit_signal else None,
            stdout=stdout,
            stderr=stderr,
            elapsed=r.elapsed_us / 1e6,
            stdout_truncated=bool(r.stdout_truncated),
            stderr_truncated=bool(r.stderr_truncated),
        )
        return r.status, message, result
    finally:
        _lib.smol_ssh_result_free(ptr)


def _raise(status: int, message: str, stdout: bytes = b"", stderr: bytes = b""):
    raise _ERRORS.get(status, SmolSSHError)(status, message, stdout, stderr)


class _RunOptions:
    """A smol_ssh_run_options for one call, freed on exit."""

    def __init__(self, timeout, shell, stdin, env, cancel, secret_env=None):
        self.ptr = _lib.smol_ssh_run_options_new()
        _lib.smol_ssh_run_options_set_timeout_ms(self.ptr, _ms(timeout, "timeout"))
        _lib.smol_ssh_run_options_set_shell_mode(self.ptr, _SHELL_MODES[shell])
        if stdin is not None:
            data = bytes(stdin)
            _lib.smol_ssh_run_options_set_stdin(self.ptr, data, len(data))
        for name, value in (env or {}).items():
            _lib.smol_ssh_run_options_set_env(self.ptr, os.fsencode(name), os.fsencode(value))
        for name, value in (secret_env or {}).items():
            _lib.smol_ssh_run_options_set_secret_env(self.ptr, os.fsencode(name), os.fsencode(value))
        if cancel is not None:
            _lib.smol_ssh_run_options_set_cancel(self.ptr, cancel._ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _lib.smol_ssh_run_options_free(self.ptr)


class Forward:
    """A running local forward (see SSHClient.forward_local); a context manager."""

    def __init__(self, handle):
        self._handle = handle

    @property
    def port(self) -> int:
        """The TCP port it listens on (0 for a Unix socket)."""
        return _lib.smol_ssh_forward_port(self._handle) if self._handle else 0

    def stats(self) -> dict:
        """connections, active, failed, bytes_to_guest, bytes_from_guest."""
        out = _CForwardStats()
        if self._handle:
            _lib.smol_ssh_forward_get_stats(self._handle, ctypes.byref(out))
        return {name: getattr(out, name) for name, _ in _CForwardStats._fields_}

    def close(self) -> None:
        """Stops accepting and frees the forward (streams already open go on). Idempotent."""
        handle, self._handle = self._handle, None
        if handle:
            _lib.smol_ssh_forward_free(handle)

    def __enter__(self) -> "Forward":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class SSHClient:
    """A client of one guest over one persistent SSH connection, made on first use.

    Options follow the reference client: a key file if given (then the password is not
    used), else the password, else the ssh-agent. Nothing connects here; bad options raise
    InvalidArgument at once.
    """

    def __init__(
        self,
        host: str,
        user: str = "root",
        port: int = 22,
        key_path: Optional[str] = None,
        password: Optional[str] = None,
        connect_timeout: float = 10.0,
        shell_kind: str = "sh",
        key_passphrase: Optional[str] = None,
        host_key_fingerprint: Optional[str] = None,
        host_key_policy: str = "known_hosts",
        host_key_callback=None,
        known_hosts: Optional[str] = None,
        known_hosts_add_unknown: bool = False,
        keepalive_interval: float = 15.0,
        keepalive_count_max: int = 3,
        max_output_bytes: int = 64 * 1024 * 1024,
        unix_socket: Optional[str] = None,
        hybrid_vsock: Optional[str] = None,
        vsock_cid: Optional[int] = None,
        vsock_port: int = 22,
        dial=None,
        jump: Optional[tuple] = None,
    ):
        """How the guest's sshd is reached: at most one of ``unix_socket`` (a socket the VMM
        or a helper exposes), ``hybrid_vsock`` (Firecracker's or Cloud Hypervisor's socket,
        then ``CONNECT vsock_port``), ``vsock_cid`` (AF_VSOCK to ``vsock_cid``:``vsock_port``)
        and ``dial``; none means TCP to host:port. ``dial()`` is called at every connect (the
        first and each reconnect) on the client's internal thread and returns a connected
        ``socket.socket`` (detached: the client owns it then) or a descriptor it hands over;
        an exception fails that connect. ``jump=(client, host, port)`` reaches the guest through
        another SSHClient's connection (ProxyJump), which must stay alive while this one is
        used. ``host`` still names the guest."""
        self._handle = None
        chosen = [n for n, v in (("unix_socket", unix_socket), ("hybrid_vsock", hybrid_vsock),
                                 ("vsock_cid", vsock_cid), ("dial", dial), ("jump", jump))
                  if v is not None]
        if len(chosen) > 1:
            raise InvalidArgument(1, f"choose one transport, not {' and '.join(chosen)}")
        if shell_kind not in _SHELL_KINDS:
            raise InvalidArgument(1, f"shell_kind must be one of {sorted(_SHELL_KINDS)}")
        if host_key_policy not in _HOST_KEY_POLICIES:
            raise InvalidArgument(1, f"host_key_policy must be one of {sorted(_HOST_KEY_POLICIES)}")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidArgument(1, "port must be within 1-65535")
        def enc(value):
            return None if value is None else os.fsencode(value)

        opts = _lib.smol_ssh_options_new()
        try:
            _lib.smol_ssh_options_set_host(opts, enc(host))
            _lib.smol_ssh_options_set_user(opts, enc(user))
            _lib.smol_ssh_options_set_port(opts, port)
            _lib.smol_ssh_options_set_key_path(opts, enc(key_path))
            _lib.smol_ssh_options_set_key_passphrase(opts, enc(key_passphrase))
            _lib.smol_ssh_options_set_password(opts, enc(password))
            _lib.smol_ssh_options_set_connect_timeout_ms(opts, _ms(connect_timeout, "connect_timeout"))
            _lib.smol_ssh_options_set_shell_kind(opts, _SHELL_KINDS[shell_kind])
            _lib.smol_ssh_options_set_host_key_policy(opts, _HOST_KEY_POLICIES[host_key_policy])
            if known_hosts is not None:
                _lib.smol_ssh_options_set_known_hosts(opts, enc(known_hosts), known_hosts_add_unknown)
            if host_key_fingerprint is not None:
                _lib.smol_ssh_options_set_host_key_fingerprint(opts, enc(host_key_fingerprint))
            if host_key_callback is not None:
                # Called as host_key_callback(key_type, fingerprint, key_bytes) -> bool, on the
                # client's internal thread; an exception refuses the key. Kept alive with the
                # client (the library calls it at every connect).
                def decide(_user, key_type, fingerprint, key, key_len):
                    try:
                        accepted = host_key_callback(
                            key_type.decode(), fingerprint.decode(), ctypes.string_at(key, key_len)
                        )
                        return 1 if accepted else 0
                    except BaseException:
                        return 0

                self._host_key_fn = _HOST_KEY_FN(decide)
                _lib.smol_ssh_options_set_host_key_callback(opts, self._host_key_fn, None)
            if unix_socket is not None:
                _lib.smol_ssh_options_set_unix_socket(opts, enc(unix_socket))
            if hybrid_vsock is not None:
                _lib.smol_ssh_options_set_hybrid_vsock(opts, enc(hybrid_vsock), _u32(vsock_port, "vsock_port"))
            if vsock_cid is not None:
                _lib.smol_ssh_options_set_vsock(opts, _u32(vsock_cid, "vsock_cid"), _u32(vsock_port, "vsock_port"))
            if jump is not None:
                via, jump_host, jump_port = jump
                self._jump = via  # kept alive with this client
                _lib.smol_ssh_options_set_jump(opts, via._live(), enc(jump_host), _u32(jump_port, "jump port"))
            if dial is not None:
                def make_fd(_user):
                    try:
                        conn = dial()
                        return conn if isinstance(conn, int) else conn.detach()
                    except BaseException:
                        return -1

                self._dial_fn = _FD_FN(make_fd)
                _lib.smol_ssh_options_set_fd_callback(opts, self._dial_fn, None)
            _lib.smol_ssh_options_set_keepalive_interval_ms(opts, _ms(keepalive_interval, "keepalive_interval"))
            _lib.smol_ssh_options_set_keepalive_count_max(opts, max(0, int(keepalive_count_max)))
            _lib.smol_ssh_options_set_max_output_bytes(opts, max(0, int(max_output_bytes)))
            handle = c_void_p()
            err = _lib.smol_ssh_new(opts, ctypes.byref(handle))
        finally:
            _lib.smol_ssh_options_free(opts)
        if err:
            status = _lib.smol_ssh_error_status(err)
            message = _lib.smol_ssh_error_message(err).decode("utf-8", "replace")
            _lib.smol_ssh_error_free(err)
            _raise(status, message)
        self._handle = handle

    def _live(self):
        if self._handle is None:
            raise InvalidArgument(1, "this SSHClient was freed (used after its with-block or free())")
        return self._handle

    def run(
        self,
        command: str,
        timeout: float = 30.0,
        shell: str = "login",
        stdin: Optional[bytes] = None,
        env: Optional[dict] = None,
        cancel: Optional[CancelToken] = None,
        on_output=None,
        secret_env: Optional[dict] = None,
    ) -> Result:
        """Runs ``command`` (in a login shell unless ``shell="raw"``) and returns its result.
        A non-zero exit is not an exception (see ``Result.ok``); a timeout, a cancellation, a
        connection problem or a bad argument is.

        ``stdin`` bytes are fed while output is read; ``env`` sets variables for this run
        (quoted for the guest's shell, so visible in its process table); ``secret_env`` sets
        variables whose values travel on stdin instead, never in the command line (POSIX
        guests); ``cancel`` lets another thread stop it. With
        ``on_output(stream, data)`` (``stream`` is "stdout" or "stderr"), output is handed over
        chunk by chunk on this thread instead of being kept; returning False stops the command
        (Cancelled), and an exception raised by it stops the command and is re-raised here."""
        if shell not in _SHELL_MODES:
            raise InvalidArgument(1, f"shell must be one of {sorted(_SHELL_MODES)}")
        if not isinstance(command, str):
            raise InvalidArgument(1, "command must be a str")
        with _RunOptions(timeout, shell, stdin, env, cancel, secret_env) as opts:
            raised = []
            callback = None
            if on_output is not None:

                def deliver(_user, stream, data, length):
                    try:
                        keep_going = on_output("stdout" if stream == 0 else "stderr", ctypes.string_at(data, length))
                        return 0 if keep_going is not False else 1
                    except BaseException as e:  # stop the command, re-raise after the run
                        raised.append(e)
                        return 1

                callback = _OUTPUT_FN(deliver)
                _lib.smol_ssh_run_options_set_output_callback(opts.ptr, callback, None)
            ptr = _lib.smol_ssh_run_with(self._live(), command.encode("utf-8", "surrogatepass"), opts.ptr)
            status, message, result = _take(ptr)
        if raised:
            raise raised[0]
        if status != 0:
            _raise(status, message, result.stdout, result.stderr)
        return result

    def _transfer(self, call, *args, timeout: float, cancel: Optional[CancelToken]):
        with _RunOptions(timeout, "raw", None, None, cancel) as opts:
            status, message, result = _take(call(self._live(), *args, opts.ptr))
        if status != 0:
            _raise(status, message)
        return result.stdout

    def put_file(self, local: str, remote: str, timeout: float = 300.0, cancel: Optional[CancelToken] = None) -> str:
        """Uploads ``local`` to ``remote`` (a directory gets the local file name appended),
        keeping its permission bits; returns the path written. Needs a POSIX guest."""
        return self._transfer(_lib.smol_ssh_put_file, os.fsencode(local), os.fsencode(remote), timeout=timeout, cancel=cancel).decode()

    def put_bytes(self, data: bytes, remote: str, mode: int = 0o644, timeout: float = 300.0, cancel: Optional[CancelToken] = None) -> str:
        """Writes ``data`` to the file ``remote`` with ``mode``; returns the path written."""
        return self._transfer(_lib.smol_ssh_put_bytes, bytes(data), len(data), os.fsencode(remote), mode, timeout=timeout, cancel=cancel).decode()

    def get_file(self, remote: str, local: str, max_bytes: int = 2**64 - 1, timeout: float = 300.0, cancel: Optional[CancelToken] = None) -> None:
        """Downloads ``remote`` to ``local`` (parents created); more than ``max_bytes`` raises
        TooLarge and writes nothing."""
        self._transfer(_lib.smol_ssh_get_file, os.fsencode(remote), os.fsencode(local), max_bytes, timeout=timeout, cancel=cancel)

    def get_bytes(self, remote: str, max_bytes: int = 2**64 - 1, timeout: float = 300.0, cancel: Optional[CancelToken] = None) -> bytes:
        """Reads the file ``remote`` (at most ``max_bytes``, else TooLarge)."""
        return self._transfer(_lib.smol_ssh_get_bytes, os.fsencode(remote), max_bytes, timeout=timeout, cancel=cancel)

    def wait_for_ssh(self, timeout: float = 60.0, interval: float = 0.1) -> None:
        """Waits until the guest answers with an SSH banner and a full connect succeeds."""
        ptr = _lib.smol_ssh_wait(self._live(), _ms(timeout, "timeout"), _ms(interval, "interval"))
        status, message, _ = _take(ptr)
        if status != 0:
            _raise(status, message)

    @property
    def connected(self) -> bool:
        """True while the connection is alive."""
        return self._handle is not None and bool(_lib.smol_ssh_connected(self._handle))

    @property
    def host_key_fingerprint(self) -> Optional[str]:
        """The fingerprint ("SHA256:...") of the host key the server presented at the last
        connect, accepted or not (None before any); a refused key can be shown and pinned."""
        if self._handle is None:
            return None
        buf = ctypes.create_string_buffer(128)
        n = _lib.smol_ssh_host_key_fingerprint(self._handle, buf, len(buf))
        return buf.value.decode() if n else None

    def open_stream(self, host: str, port: int, timeout: float = 10.0) -> socket.socket:
        """A stream to ``host``:``port`` as the guest sees them ("127.0.0.1" is the guest
        itself), carried by a direct-tcpip channel of this client's connection, as a connected
        socket the caller owns. ``shutdown(SHUT_WR)`` sends EOF to the service. A refusal by
        the guest's sshd raises ChannelFailed and leaves the connection alone."""
        fd = c_int32(-1)
        ptr = _lib.smol_ssh_open_stream(self._live(), os.fsencode(host), _u32(port, "port"),
                                        _ms(timeout, "timeout"), ctypes.byref(fd))
        status, message, _ = _take(ptr)
        if status != 0:
            _raise(status, message)
        return socket.socket(fileno=fd.value)

    def forward_local(self, listen: str, host: str, port: int, max_connections: int = 0) -> "Forward":
        """Listens on ``listen`` ("127.0.0.1:8080", "[::1]:0", or a Unix socket path starting
        with '/', which must not exist) and carries each connection to ``host``:``port`` as the
        guest sees them, like ``ssh -L``, beside this client's runs. At most
        ``max_connections`` streams at once (0: 64). Close the Forward to stop accepting."""
        handle = c_void_p()
        err = _lib.smol_ssh_forward_local(self._live(), os.fsencode(listen), os.fsencode(host),
                                          _u32(port, "port"), _u32(max_connections, "max_connections"),
                                          ctypes.byref(handle))
        if err:
            status = _lib.smol_ssh_error_status(err)
            message = _lib.smol_ssh_error_message(err).decode("utf-8", "replace")
            _lib.smol_ssh_error_free(err)
            _raise(status, message)
        return Forward(handle)

    def close(self) -> None:
        """Closes the connection (idempotent); the next run reconnects."""
        if self._handle is not None:
            _lib.smol_ssh_close(self._handle)

    def free(self) -> None:
        """Ends the client for good: closes the connection and releases the library's handle.
        Do not call while other threads are using this client."""
        handle, self._handle = self._handle, None
        if handle is not None:
            _lib.smol_ssh_free(handle)

    def __enter__(self) -> "SSHClient":
        return self

    def __exit__(self, *exc) -> None:
        self.free()

    def __del__(self):
        try:
            self.free()
        except Exception:
            pass
