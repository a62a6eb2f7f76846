"""A drop-in for the reference Python client (smolvm's ``SSHClient``), over smol-ssh.

Change the import and nothing else::

    from smol_ssh.compat import SSHClient      # was: from smolvm.ssh import SSHClient

    client = SSHClient(host="172.16.0.2")
    client.wait_for_ssh(timeout=30.0)
    result = client.run("whoami")
    if result.ok:
        print(f"Current user: {result.output}")

The same constructor and public attributes (``host``, ``port``, ``user``, ``key_path``,
``password``, ``connect_timeout``, ``shell_kind``; changing one takes effect at the next call),
``run`` returning a ``CommandResult`` whose ``stdout``/``stderr`` are ``str`` (UTF-8, invalid
bytes replaced), ``exit_code`` an ``int`` (-1 when the guest sent no exit status), ``ok`` and
``output`` (``stdout.strip()``), ``wait_for_ssh``, ``put_file``, ``get_file``, ``close`` and
``connected``, and the reference's exceptions: ``ValueError`` for bad arguments (same message
beginnings), ``OperationTimeoutError`` when a deadline passes, ``SmolVMError`` for the rest.

What differs, on purpose (the reference's weaknesses):

- **Host keys are checked.** The reference accepts any key. Here the default is the user's
  ``~/.ssh/known_hosts``, strictly. Without changing the call, the environment can choose:
  ``SMOL_SSH_HOST_KEY`` (pinned fingerprints, comma-separated, "SHA256:...") or
  ``SMOL_SSH_HOST_KEY_POLICY`` (``known_hosts``, ``accept_first``: trust on first use, the
  usual choice for fresh VM guests, or ``accept_any``). Keyword arguments the reference does
  not have (``host_key_policy=``, ``host_key_fingerprint=``, ``known_hosts=``, and every other
  option of ``smol_ssh.SSHClient``) are passed through and win over the environment.
- ``run``'s timeout bounds the whole command (not each read), and a command that times out
  is killed on the guest; stdout and stderr are read together (no hang at 2 MiB of stderr).
- Many threads may use one client at once.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Literal, Optional

from . import client as _client
from . import errors as _errors

__all__ = ["SSHClient", "CommandResult", "SmolVMError", "OperationTimeoutError", "ShellMode"]

ShellMode = Literal["login", "raw"]
_SHELL_KINDS = ("sh", "powershell", "cmd")
# Transfers have no timeout in the reference's signature; this bounds each one.
_TRANSFER_TIMEOUT = 3600.0


class SmolVMError(Exception):
    """The base of this module's errors: the connection could not be made or was lost, a
    command or transfer failed. ``message`` is the text, ``details`` a dict (the library's
    ``status`` number, and for a run cut short the ``stdout``/``stderr`` it had so far)."""

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})


class OperationTimeoutError(SmolVMError):
    """A deadline passed (the message names the operation and the timeout)."""


@dataclass(frozen=True)
class CommandResult:
    """What ``run`` returns."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.exit_code == 0

    @property
    def output(self) -> str:
        """stdout with leading and trailing whitespace stripped."""
        return self.stdout.strip()


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _translate(err: _errors.SmolSSHError) -> Exception:
    """The reference's exception for a library error."""
    details: Dict[str, Any] = {"status": err.status}
    if err.stdout or err.stderr:
        details["stdout"] = _text(err.stdout)
        details["stderr"] = _text(err.stderr)
    if isinstance(err, _errors.InvalidArgument):
        return ValueError(err.message)
    if isinstance(err, _errors.Timeout):
        return OperationTimeoutError(err.message, details)
    return SmolVMError(err.message, details)


def _host_key_options(given: Dict[str, Any]) -> Dict[str, Any]:
    """The host-key options: the caller's keywords, else the environment's choice."""
    if any(k in given for k in ("host_key_policy", "host_key_fingerprint", "host_key_callback", "known_hosts")):
        return {}
    pinned = os.environ.get("SMOL_SSH_HOST_KEY", "").strip()
    if pinned:
        # Several pins are allowed: a key with any of them is accepted.
        return {"host_key_fingerprint": [p.strip() for p in pinned.split(",") if p.strip()]}
    policy = os.environ.get("SMOL_SSH_HOST_KEY_POLICY", "").strip()
    return {"host_key_policy": policy} if policy else {}


class SSHClient:
    """Execute commands on a microVM guest via SSH, over one persistent connection made on
    first use (or by ``wait_for_ssh``) and remade when lost. Nothing connects here."""

    def __init__(
        self,
        host: str,
        user: str = "root",
        port: int = 22,
        key_path: Optional[str] = None,
        password: Optional[str] = None,
        connect_timeout: int = 10,
        shell_kind: str = "sh",
        **options: Any,
    ) -> None:
        self.host = host
        self.user = user
        self.port = port
        self.key_path = key_path
        self.password = password
        self.connect_timeout = connect_timeout
        self.shell_kind = shell_kind
        self._options = dict(options)
        self._options.update(_host_key_options(options))
        self._lock = threading.Lock()
        self._made_from: Optional[tuple] = None
        self._inner: Optional[_client.SSHClient] = None
        self._current()  # bad arguments raise now, as in the reference

    def _settings(self) -> tuple:
        return (self.host, self.user, self.port, self.key_path, self.password,
                self.connect_timeout, self.shell_kind)

    def _validate(self) -> None:
        if not isinstance(self.host, str) or not self.host.strip():
            raise ValueError("host cannot be empty")
        if not isinstance(self.user, str) or not self.user.strip():
            raise ValueError("user cannot be empty")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise ValueError(f"port must be between 1 and 65535, got {self.port!r}")
        if not isinstance(self.connect_timeout, (int, float)) or self.connect_timeout < 1:
            raise ValueError(f"connect_timeout must be >= 1, got {self.connect_timeout!r}")
        if self.shell_kind not in _SHELL_KINDS:
            raise ValueError(f"shell_kind must be one of {', '.join(_SHELL_KINDS)}, got {self.shell_kind!r}")

    def _current(self) -> _client.SSHClient:
        """The client for the present attribute values (remade when one changed)."""
        settings = self._settings()
        with self._lock:
            if self._inner is not None and settings == self._made_from:
                return self._inner
            self._validate()
            try:
                fresh = _client.SSHClient(
                    self.host,
                    user=self.user,
                    port=self.port,
                    key_path=None if self.key_path is None else os.fspath(self.key_path),
                    password=self.password,
                    connect_timeout=float(self.connect_timeout),
                    shell_kind=self.shell_kind,
                    **self._options,
                )
            except _errors.SmolSSHError as e:
                raise _translate(e) from e
            old, self._inner, self._made_from = self._inner, fresh, settings
        if old is not None:
            old.free()
        return fresh

    @property
    def connected(self) -> bool:
        """True while the SSH connection is alive."""
        inner = self._inner
        return inner is not None and inner.connected

    def run(self, command: str, timeout: int = 30, shell: ShellMode = "login") -> CommandResult:
        """Runs ``command`` on the guest (through its login shell, or as given with
        ``shell="raw"``) and returns its result; a non-zero exit is not an exception.

        Raises ValueError (empty command, timeout < 1, unknown shell), OperationTimeoutError
        (the command ran past ``timeout`` seconds; it is killed on the guest) and SmolVMError
        (no connection, or it was lost)."""
        if not isinstance(command, str) or not command.strip():
            raise ValueError("command cannot be empty")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 1:
            raise ValueError(f"timeout must be >= 1, got {timeout!r}")
        if shell not in ("login", "raw"):
            raise ValueError(f"shell must be 'login' or 'raw', got {shell!r}")
        try:
            r = self._current().run(command, timeout=float(timeout), shell=shell)
        except _errors.SmolSSHError as e:
            raise _translate(e) from e
        return CommandResult(
            exit_code=-1 if r.exit_code is None else r.exit_code,
            stdout=_text(r.stdout),
            stderr=_text(r.stderr),
        )

    def wait_for_ssh(self, timeout: float = 60.0, interval: float = 0.1) -> None:
        """Waits until the guest's sshd answers and a full connect (handshake and
        authentication) succeeds; the connection is kept for later runs.

        Raises ValueError (timeout <= 0), OperationTimeoutError (not ready in time) and
        SmolVMError (a host key refused, bad credentials that cannot get better)."""
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout!r}")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise ValueError(f"interval must be > 0, got {interval!r}")
        try:
            self._current().wait_for_ssh(timeout=float(timeout), interval=float(interval))
        except _errors.SmolSSHError as e:
            raise _translate(e) from e

    def put_file(self, local_path: "str | os.PathLike[str]", remote_path: str) -> str:
        """Uploads ``local_path`` to ``remote_path`` (an existing remote directory gets the
        local file name appended), keeping its permission bits; returns the remote path
        written. A missing local file raises ValueError."""
        local = os.fspath(local_path)
        if not os.path.isfile(local):
            raise ValueError(f"local file not found: {local}")
        try:
            return self._current().put_file(local, os.fspath(remote_path), timeout=_TRANSFER_TIMEOUT)
        except _errors.SmolSSHError as e:
            raise _translate(e) from e

    def get_file(
        self,
        remote_path: str,
        local_path: "str | os.PathLike[str]",
        *,
        max_bytes: Optional[int] = None,
    ) -> Path:
        """Downloads ``remote_path`` to ``local_path`` (parent directories created) and
        returns the local path. A file larger than ``max_bytes`` raises SmolVMError and
        writes nothing."""
        if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0):
            raise ValueError(f"max_bytes must be a non-negative int or None, got {max_bytes!r}")
        local = Path(local_path)
        limit = 2**64 - 1 if max_bytes is None else max_bytes
        try:
            self._current().get_file(os.fspath(remote_path), os.fspath(local), max_bytes=limit,
                                     timeout=_TRANSFER_TIMEOUT)
        except _errors.SmolSSHError as e:
            raise _translate(e) from e
        return local

    def close(self) -> None:
        """Closes the connection (idempotent); the next call reconnects."""
        inner = self._inner
        if inner is not None:
            inner.close()

    def __enter__(self) -> "SSHClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SSHClient(host={self.host!r}, user={self.user!r}, port={self.port!r})"
