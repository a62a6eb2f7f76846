"""smol-ssh for Python: run commands on a VM guest over one persistent SSH connection.

A thin ctypes layer over libsmol_ssh.so (no compiled extension)::

    from smol_ssh import SSHClient

    with SSHClient("192.0.2.10", user="root", key_path="/root/.ssh/id_ed25519",
                   host_key_policy="accept_first") as ssh:
        result = ssh.run("uname -a")
        print(result.exit_code, result.output)

``smol_ssh.compat`` is a drop-in for the reference client's API (str output, its exception
names). Where the library is found: see ``smol_ssh._native`` (``SMOL_SSH_LIBRARY``, the copy
bundled by ``pip install``, ``make install``'s, the system's); ``library_path`` says which was
loaded. An SSHClient may be used from many threads at once: calls release the GIL while they
wait.
"""

__version__ = "0.1.0"

from ._native import library_path  # noqa: E402
from .client import (
    CancelToken,
    FileInfo,
    Forward,
    Result,
    SSHClient,
    driver_threads,
    set_driver_threads,
    version,
)
from .errors import (
    AuthFailed,
    Cancelled,
    ChannelFailed,
    ConnectFailed,
    Disconnected,
    HostKeyRejected,
    InternalError,
    InvalidArgument,
    RemoteFailed,
    SmolSSHError,
    SSHConnectionError,
    Timeout,
    TooLarge,
    NotFound,
    PermissionDenied,
    NotADirectory,
)

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
    "NotFound",
    "PermissionDenied",
    "NotADirectory",
    "FileInfo",
    "CancelToken",
    "Forward",
    "version",
    "set_driver_threads",
    "driver_threads",
    "library_path",
    "__version__",
]
