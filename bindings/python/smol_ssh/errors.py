"""The exceptions smol_ssh raises: one class per library status, all under SmolSSHError."""

from __future__ import annotations

from typing import NoReturn


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


class NotFound(RemoteFailed, FileNotFoundError):
    """The path does not exist on the guest (file operations and SFTP transfers)."""


class PermissionDenied(RemoteFailed, PermissionError):
    """The guest refused a file operation for lack of permission."""


class NotADirectory(RemoteFailed, NotADirectoryError):
    """A path that had to be a directory is not one."""


ERRORS = {
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
    12: NotFound,
    13: PermissionDenied,
    14: NotADirectory,
}


def raise_status(status: int, message: str, stdout: bytes = b"", stderr: bytes = b"") -> NoReturn:
    """Raises the exception for a library status."""
    raise ERRORS.get(status, SmolSSHError)(status, message, stdout, stderr)
