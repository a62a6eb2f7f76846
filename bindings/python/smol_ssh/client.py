"""SSHClient and what its calls return."""

from __future__ import annotations

import ctypes
import logging
import os
import socket
from ctypes import c_int32, c_void_p
from dataclasses import dataclass
from typing import Optional

from ._native import CForwardStats, FD_FN, HOST_KEY_FN, LOG_FN, OUTPUT_FN, lib
from .errors import InvalidArgument, raise_status

_SHELL_KINDS = {"sh": 0, "powershell": 1, "cmd": 2}
_SHELL_MODES = {"login": 0, "raw": 1}
# Unknown host keys are refused unless a policy that accepts them is chosen: "known_hosts"
# (the user's own ~/.ssh/known_hosts, strictly; the default), "accept_first" (trust on first
# use, for fresh VM guests), "accept_any" (no check). Pins and files have options of their own.
_HOST_KEY_POLICIES = {"known_hosts": 0, "accept_first": 1, "accept_any": 2}


# How files move (smol_ssh_file_transfer): "auto" (exec channels on sh guests, SFTP on
# powershell/cmd guests), "exec", "sftp".
_FILE_TRANSFERS = {"auto": 0, "exec": 1, "sftp": 2}
_FILE_TYPES = {0: "file", 1: "directory", 2: "symlink", 3: "other"}

# The library's log levels (smol_ssh_log_level) as the logging module's.
_LOG_LEVELS = {0: logging.INFO, 1: logging.WARNING, 2: logging.ERROR, 3: logging.DEBUG}


class CancelToken:
    """Cancels the runs it is given to (``run(..., cancel=token)``), from any thread. A
    cancelled run raises Cancelled and its remote command is stopped. Cancelling is permanent."""

    def __init__(self):
        self._ptr = lib.smol_ssh_cancel_new()

    def cancel(self) -> None:
        lib.smol_ssh_cancel_trigger(self._ptr)

    @property
    def cancelled(self) -> bool:
        return bool(lib.smol_ssh_cancel_is_triggered(self._ptr))

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            lib.smol_ssh_cancel_free(ptr)


def version() -> str:
    """The library's version."""
    return lib.smol_ssh_version().decode()


def set_driver_threads(threads: int) -> None:
    """Sets how many driver threads serve all the clients of the process (the threads that
    own the connections). 0: the default (SMOL_SSH_DRIVER_THREADS, else the number of cores).
    Clients already started stay where they are; later ones use the new size."""
    if isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= 1024:
        raise InvalidArgument(1, "threads must be an integer within 0-1024")
    status = lib.smol_ssh_set_driver_threads(threads)
    if status:
        raise_status(status, "set_driver_threads failed")


def driver_threads() -> int:
    """How many driver threads serve the process's clients at most."""
    return lib.smol_ssh_driver_threads()


@dataclass(frozen=True)
class FileInfo:
    """What the guest says about a file (``stat``, ``list_dir``). ``type`` is "file",
    "directory", "symlink" or "other"; other fields are None when the server did not say."""

    name: str
    type: str
    size: Optional[int]
    permissions: Optional[int]
    modified: Optional[int]
    uid: Optional[int]
    gid: Optional[int]

    @property
    def is_dir(self) -> bool:
        return self.type == "directory"

    @property
    def mode(self) -> Optional[int]:
        """The permission bits (``permissions``)."""
        return self.permissions

    @property
    def mtime(self) -> Optional[int]:
        """The last modification, seconds since the epoch (``modified``)."""
        return self.modified


def _file_info(fi) -> FileInfo:
    return FileInfo(
        name=os.fsdecode(ctypes.string_at(fi.name, fi.name_len)),
        type=_FILE_TYPES.get(fi.file_type, "other"),
        size=fi.size if fi.has_size else None,
        permissions=fi.permissions if fi.has_permissions else None,
        modified=fi.modified if fi.has_modified else None,
        uid=fi.uid if fi.has_owner else None,
        gid=fi.gid if fi.has_owner else None,
    )


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
        lib.smol_ssh_result_free(ptr)


def _raise_error(err) -> None:
    """Raises the exception a `smol_ssh_error *` out-parameter holds (and frees it), if any."""
    if err:
        status = lib.smol_ssh_error_status(err)
        message = lib.smol_ssh_error_message(err).decode("utf-8", "replace")
        lib.smol_ssh_error_free(err)
        raise_status(status, message)


def _check_run(command, shell) -> None:
    if shell not in _SHELL_MODES:
        raise InvalidArgument(1, f"shell must be one of {sorted(_SHELL_MODES)}")
    if not isinstance(command, str):
        raise InvalidArgument(1, "command must be a str")


class _RunOptions:
    """A smol_ssh_run_options for one call, freed on exit."""

    def __init__(self, timeout, shell, stdin, env, cancel, secret_env=None):
        self.ptr = lib.smol_ssh_run_options_new()
        lib.smol_ssh_run_options_set_timeout_ms(self.ptr, _ms(timeout, "timeout"))
        lib.smol_ssh_run_options_set_shell_mode(self.ptr, _SHELL_MODES[shell])
        if stdin is not None:
            data = bytes(stdin)
            lib.smol_ssh_run_options_set_stdin(self.ptr, data, len(data))
        for name, value in (env or {}).items():
            lib.smol_ssh_run_options_set_env(self.ptr, os.fsencode(name), os.fsencode(value))
        for name, value in (secret_env or {}).items():
            lib.smol_ssh_run_options_set_secret_env(self.ptr, os.fsencode(name), os.fsencode(value))
        if cancel is not None:
            lib.smol_ssh_run_options_set_cancel(self.ptr, cancel._ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        lib.smol_ssh_run_options_free(self.ptr)


class Forward:
    """A running local forward (see SSHClient.forward_local); a context manager."""

    def __init__(self, handle):
        self._handle = handle

    @property
    def port(self) -> int:
        """The TCP port it listens on (0 for a Unix socket)."""
        return lib.smol_ssh_forward_port(self._handle) if self._handle else 0

    def stats(self) -> dict:
        """connections, active, failed, bytes_to_guest, bytes_from_guest."""
        out = CForwardStats()
        if self._handle:
            lib.smol_ssh_forward_get_stats(self._handle, ctypes.byref(out))
        return {name: getattr(out, name) for name, _ in CForwardStats._fields_}

    def close(self) -> None:
        """Stops accepting and frees the forward (streams already open go on). Idempotent."""
        handle, self._handle = self._handle, None
        if handle:
            lib.smol_ssh_forward_free(handle)

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
        host_key_fingerprint=None,
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
        ciphers: Optional[str] = None,
        logger: Optional[logging.Logger] = None,
        file_transfer: str = "auto",
    ):
        """How the guest's sshd is reached: at most one of ``unix_socket`` (a socket the VMM
        or a helper exposes), ``hybrid_vsock`` (Firecracker's or Cloud Hypervisor's socket,
        then ``CONNECT vsock_port``), ``vsock_cid`` (AF_VSOCK to ``vsock_cid``:``vsock_port``)
        and ``dial``; none means TCP to host:port. ``dial()`` is called at every connect (the
        first and each reconnect) on the client's internal thread and returns a connected
        ``socket.socket`` (detached: the client owns it then) or a descriptor it hands over;
        an exception fails that connect. ``jump=(client, host, port)`` reaches the guest through
        another SSHClient's connection (ProxyJump), which must stay alive while this one is
        used. ``host`` still names the guest.

        ``ciphers``: the ciphers to offer, most preferred first, comma-separated OpenSSH names
        ("aes128-gcm@openssh.com,chacha20-poly1305@openssh.com"); None keeps libssh2's list.
        ``logger``: a ``logging.Logger`` (or True for ``logging.getLogger("smol_ssh")``) told
        what the client does on its own (connects and
        their errors, the host key seen, the identity used, reconnects, keepalive verdicts,
        timeouts and kills, wait_for_ssh probes at DEBUG), from the library's threads (a
        driver thread shared with other clients, or a connect's thread, taking the GIL for
        it); its handlers must not block. None (the default) logs nothing and costs nothing. No
        message carries a secret or a command line.
        ``file_transfer``: how put_file/get_file move files: "auto" (exec channels on POSIX
        guests, SFTP on powershell/cmd guests), "exec" or "sftp". File operations (stat,
        list_dir, ...) always use SFTP."""
        self._handle = None
        chosen = [n for n, v in (("unix_socket", unix_socket), ("hybrid_vsock", hybrid_vsock),
                                 ("vsock_cid", vsock_cid), ("dial", dial), ("jump", jump))
                  if v is not None]
        if len(chosen) > 1:
            raise InvalidArgument(1, f"choose one transport, not {' and '.join(chosen)}")
        if shell_kind not in _SHELL_KINDS:
            raise InvalidArgument(1, f"shell_kind must be one of {sorted(_SHELL_KINDS)}")
        if file_transfer not in _FILE_TRANSFERS:
            raise InvalidArgument(1, f"file_transfer must be one of {sorted(_FILE_TRANSFERS)}")
        if host_key_policy not in _HOST_KEY_POLICIES:
            raise InvalidArgument(1, f"host_key_policy must be one of {sorted(_HOST_KEY_POLICIES)}")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidArgument(1, "port must be within 1-65535")
        def enc(value):
            return None if value is None else os.fsencode(value)

        opts = lib.smol_ssh_options_new()
        try:
            lib.smol_ssh_options_set_host(opts, enc(host))
            lib.smol_ssh_options_set_user(opts, enc(user))
            lib.smol_ssh_options_set_port(opts, port)
            lib.smol_ssh_options_set_key_path(opts, enc(key_path))
            lib.smol_ssh_options_set_key_passphrase(opts, enc(key_passphrase))
            lib.smol_ssh_options_set_password(opts, enc(password))
            lib.smol_ssh_options_set_connect_timeout_ms(opts, _ms(connect_timeout, "connect_timeout"))
            lib.smol_ssh_options_set_shell_kind(opts, _SHELL_KINDS[shell_kind])
            lib.smol_ssh_options_set_host_key_policy(opts, _HOST_KEY_POLICIES[host_key_policy])
            if known_hosts is not None:
                lib.smol_ssh_options_set_known_hosts(opts, enc(known_hosts), known_hosts_add_unknown)
            # One pinned fingerprint ("SHA256:..."), or several (any of them is accepted).
            pins = [host_key_fingerprint] if isinstance(host_key_fingerprint, str) else host_key_fingerprint
            for pin in pins or ():
                lib.smol_ssh_options_set_host_key_fingerprint(opts, enc(pin))
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

                self._host_key_fn = HOST_KEY_FN(decide)
                lib.smol_ssh_options_set_host_key_callback(opts, self._host_key_fn, None)
            if unix_socket is not None:
                lib.smol_ssh_options_set_unix_socket(opts, enc(unix_socket))
            if hybrid_vsock is not None:
                lib.smol_ssh_options_set_hybrid_vsock(opts, enc(hybrid_vsock), _u32(vsock_port, "vsock_port"))
            if vsock_cid is not None:
                lib.smol_ssh_options_set_vsock(opts, _u32(vsock_cid, "vsock_cid"), _u32(vsock_port, "vsock_port"))
            if jump is not None:
                via, jump_host, jump_port = jump
                self._jump = via  # kept alive with this client
                lib.smol_ssh_options_set_jump(opts, via._live(), enc(jump_host), _u32(jump_port, "jump port"))
            if dial is not None:
                def make_fd(_user):
                    try:
                        conn = dial()
                        return conn if isinstance(conn, int) else conn.detach()
                    except BaseException:
                        return -1

                self._dial_fn = FD_FN(make_fd)
                lib.smol_ssh_options_set_fd_callback(opts, self._dial_fn, None)
            lib.smol_ssh_options_set_keepalive_interval_ms(opts, _ms(keepalive_interval, "keepalive_interval"))
            lib.smol_ssh_options_set_keepalive_count_max(opts, max(0, int(keepalive_count_max)))
            lib.smol_ssh_options_set_max_output_bytes(opts, max(0, int(max_output_bytes)))
            if ciphers is not None:
                lib.smol_ssh_options_set_ciphers(opts, enc(ciphers))
            lib.smol_ssh_options_set_file_transfer(opts, _FILE_TRANSFERS[file_transfer])
            if logger is True:
                logger = logging.getLogger("smol_ssh")
            if logger is not None and logger is not False:
                def tell(_user, level, message):
                    try:
                        level = _LOG_LEVELS.get(level, logging.INFO)
                        if logger.isEnabledFor(level):
                            logger.log(level, "%s", message.decode("utf-8", "replace"))
                    except BaseException:
                        pass  # a failing handler must not reach the library's thread

                self._log_fn = LOG_FN(tell)
                lib.smol_ssh_options_set_log_callback(opts, self._log_fn, None)
            handle = c_void_p()
            err = lib.smol_ssh_new(opts, ctypes.byref(handle))
        finally:
            lib.smol_ssh_options_free(opts)
        _raise_error(err)
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
        _check_run(command, shell)
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

                callback = OUTPUT_FN(deliver)
                lib.smol_ssh_run_options_set_output_callback(opts.ptr, callback, None)
            ptr = lib.smol_ssh_run_with(self._live(), command.encode("utf-8", "surrogatepass"), opts.ptr)
            status, message, result = _take(ptr)
        if raised:
            raise raised[0]
        if status != 0:
            raise_status(status, message, result.stdout, result.stderr)
        return result

    def _submit(self, command: str, timeout: float, shell: str, stdin, env, cancel, secret_env):
        """Starts a run without waiting: the C pending handle (see smol_ssh.aio)."""
        _check_run(command, shell)
        pending = c_void_p()
        with _RunOptions(timeout, shell, stdin, env, cancel, secret_env) as opts:
            err = lib.smol_ssh_submit(self._live(), command.encode("utf-8", "surrogatepass"), opts.ptr,
                                      ctypes.byref(pending))
        _raise_error(err)
        return pending

    def _submit_transfer(self, call, *args, timeout: float, cancel: Optional[CancelToken]):
        """Starts put_file / get_file without waiting: the C pending handle (see smol_ssh.aio)."""
        pending = c_void_p()
        with _RunOptions(timeout, "raw", None, None, cancel) as opts:
            err = call(self._live(), *args, opts.ptr, ctypes.byref(pending))
        _raise_error(err)
        return pending

    def _transfer(self, call, *args, timeout: float, cancel: Optional[CancelToken]):
        with _RunOptions(timeout, "raw", None, None, cancel) as opts:
            status, message, result = _take(call(self._live(), *args, opts.ptr))
        if status != 0:
            raise_status(status, message)
        return result.stdout

    def put_file(self, local: str, remote: str, timeout: float = 300.0, cancel: Optional[CancelToken] = None) -> str:
        """Uploads ``local`` to ``remote`` (a directory gets the local file name appended),
        keeping its permission bits; returns the path written (over exec channels or SFTP, as
        ``file_transfer`` chose)."""
        return self._transfer(lib.smol_ssh_put_file, os.fsencode(local), os.fsencode(remote), timeout=timeout, cancel=cancel).decode()

    def put_bytes(self, data: bytes, remote: str, mode: int = 0o644, timeout: float = 300.0, cancel: Optional[CancelToken] = None) -> str:
        """Writes ``data`` to the file ``remote`` with ``mode``; returns the path written."""
        return self._transfer(lib.smol_ssh_put_bytes, bytes(data), len(data), os.fsencode(remote), mode, timeout=timeout, cancel=cancel).decode()

    def get_file(self, remote: str, local: str, max_bytes: int = 2**64 - 1, timeout: float = 300.0, cancel: Optional[CancelToken] = None) -> None:
        """Downloads ``remote`` to ``local`` (parents created); more than ``max_bytes`` raises
        TooLarge and writes nothing."""
        self._transfer(lib.smol_ssh_get_file, os.fsencode(remote), os.fsencode(local), max_bytes, timeout=timeout, cancel=cancel)

    def get_bytes(self, remote: str, max_bytes: int = 2**64 - 1, timeout: float = 300.0, cancel: Optional[CancelToken] = None) -> bytes:
        """Reads the file ``remote`` (at most ``max_bytes``, else TooLarge)."""
        return self._transfer(lib.smol_ssh_get_bytes, os.fsencode(remote), max_bytes, timeout=timeout, cancel=cancel)

    # File operations, over SFTP (no shell on the guest needed). Each takes ``timeout`` and
    # ``cancel`` as transfers do; failures raise NotFound, PermissionDenied, NotADirectory or
    # RemoteFailed (a guest whose sshd has no sftp subsystem: ChannelFailed).

    def _file_call(self, call, *args, timeout: float, cancel: Optional[CancelToken]) -> None:
        with _RunOptions(timeout, "raw", None, None, cancel) as opts:
            status, message, _ = _take(call(self._live(), *args, opts.ptr))
        if status != 0:
            raise_status(status, message)

    def _listing(self, call, path: str, timeout: float, cancel: Optional[CancelToken]) -> list:
        out = c_void_p()
        with _RunOptions(timeout, "raw", None, None, cancel) as opts:
            status, message, _ = _take(call(self._live(), os.fsencode(path), opts.ptr, ctypes.byref(out)))
        if status != 0:
            raise_status(status, message)
        try:
            return [_file_info(lib.smol_ssh_file_list_get(out, i).contents)
                    for i in range(lib.smol_ssh_file_list_len(out))]
        finally:
            lib.smol_ssh_file_list_free(out)

    def stat(self, path: str, timeout: float = 60.0, cancel: Optional[CancelToken] = None) -> FileInfo:
        """What the guest says about ``path`` (symbolic links followed)."""
        return self._listing(lib.smol_ssh_stat, path, timeout, cancel)[0]

    def list_dir(self, path: str, timeout: float = 60.0, cancel: Optional[CancelToken] = None) -> list:
        """The entries of the directory ``path`` (FileInfo each; no "." and "..")."""
        return self._listing(lib.smol_ssh_list_dir, path, timeout, cancel)

    def exists(self, path: str, timeout: float = 60.0, cancel: Optional[CancelToken] = None) -> bool:
        """Whether ``path`` exists (symbolic links followed)."""
        found = ctypes.c_bool(False)
        with _RunOptions(timeout, "raw", None, None, cancel) as opts:
            status, message, _ = _take(lib.smol_ssh_exists(self._live(), os.fsencode(path), opts.ptr,
                                                           ctypes.byref(found)))
        if status != 0:
            raise_status(status, message)
        return bool(found.value)

    def mkdir(self, path: str, parents: bool = False, timeout: float = 60.0, cancel: Optional[CancelToken] = None) -> None:
        """Makes the directory ``path`` (with ``parents``, as ``mkdir -p``)."""
        self._file_call(lib.smol_ssh_mkdir, os.fsencode(path), bool(parents), timeout=timeout, cancel=cancel)

    def remove(self, path: str, timeout: float = 60.0, cancel: Optional[CancelToken] = None) -> None:
        """Removes the file (or symbolic link) ``path``."""
        self._file_call(lib.smol_ssh_remove, os.fsencode(path), timeout=timeout, cancel=cancel)

    def remove_dir(self, path: str, timeout: float = 60.0, cancel: Optional[CancelToken] = None) -> None:
        """Removes the empty directory ``path``."""
        self._file_call(lib.smol_ssh_remove_dir, os.fsencode(path), timeout=timeout, cancel=cancel)

    def rename(self, src: str, dst: str, timeout: float = 60.0, cancel: Optional[CancelToken] = None) -> None:
        """Renames ``src`` to ``dst``, replacing ``dst`` atomically where the guest can."""
        self._file_call(lib.smol_ssh_rename, os.fsencode(src), os.fsencode(dst), timeout=timeout, cancel=cancel)

    def wait_for_ssh(self, timeout: float = 60.0, interval: float = 0.1) -> None:
        """Waits until the guest answers with an SSH banner and a full connect succeeds."""
        ptr = lib.smol_ssh_wait(self._live(), _ms(timeout, "timeout"), _ms(interval, "interval"))
        status, message, _ = _take(ptr)
        if status != 0:
            raise_status(status, message)

    @property
    def connected(self) -> bool:
        """True while the connection is alive."""
        return self._handle is not None and bool(lib.smol_ssh_connected(self._handle))

    @property
    def host_key_fingerprint(self) -> Optional[str]:
        """The fingerprint ("SHA256:...") of the host key the server presented at the last
        connect, accepted or not (None before any); a refused key can be shown and pinned."""
        if self._handle is None:
            return None
        buf = ctypes.create_string_buffer(128)
        n = lib.smol_ssh_host_key_fingerprint(self._handle, buf, len(buf))
        return buf.value.decode() if n else None

    def open_stream(self, host: str, port: int, timeout: float = 10.0) -> socket.socket:
        """A stream to ``host``:``port`` as the guest sees them ("127.0.0.1" is the guest
        itself), carried by a direct-tcpip channel of this client's connection, as a connected
        socket the caller owns. ``shutdown(SHUT_WR)`` sends EOF to the service. A refusal by
        the guest's sshd raises ChannelFailed and leaves the connection alone."""
        fd = c_int32(-1)
        ptr = lib.smol_ssh_open_stream(self._live(), os.fsencode(host), _u32(port, "port"),
                                        _ms(timeout, "timeout"), ctypes.byref(fd))
        status, message, _ = _take(ptr)
        if status != 0:
            raise_status(status, message)
        return socket.socket(fileno=fd.value)

    def forward_local(self, listen: str, host: str, port: int, max_connections: int = 0) -> "Forward":
        """Listens on ``listen`` ("127.0.0.1:8080", "[::1]:0", or a Unix socket path starting
        with '/', which must not exist) and carries each connection to ``host``:``port`` as the
        guest sees them, like ``ssh -L``, beside this client's runs. At most
        ``max_connections`` streams at once (0: 64). Close the Forward to stop accepting."""
        handle = c_void_p()
        err = lib.smol_ssh_forward_local(self._live(), os.fsencode(listen), os.fsencode(host),
                                          _u32(port, "port"), _u32(max_connections, "max_connections"),
                                          ctypes.byref(handle))
        _raise_error(err)
        return Forward(handle)

    def close(self) -> None:
        """Closes the connection (idempotent); the next run reconnects."""
        if self._handle is not None:
            lib.smol_ssh_close(self._handle)

    def free(self) -> None:
        """Ends the client for good: closes the connection and releases the library's handle.
        Do not call while other threads are using this client."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.smol_ssh_free(handle)

    def __enter__(self) -> "SSHClient":
        return self

    def __exit__(self, *exc) -> None:
        self.free()

    def __del__(self):
        try:
            self.free()
        except Exception:
            pass
