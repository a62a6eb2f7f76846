"""asyncio over smol-ssh: ``await client.run(...)`` without a thread per call.

    import asyncio
    from smol_ssh.aio import AsyncSSHClient

    async def main():
        async with AsyncSSHClient("192.0.2.10", key_path="...", host_key_policy="accept_first") as c:
            results = await asyncio.gather(*(c.run(f"echo {i}") for i in range(100)))

A run is submitted to the library (``smol_ssh_submit``), whose completion turns a file
descriptor readable; the event loop watches it (``loop.add_reader``), so a thousand runs in
flight need no thread of Python's. Cancelling the awaiting task cancels the run (its command
is stopped). ``put_file`` and ``get_file`` are submitted the same way (the library moves the
file on a thread of its own while it lasts). The constructor takes every
``smol_ssh.SSHClient`` argument. Other calls (``wait_for_ssh``, ``put_bytes``, ``get_bytes``,
file operations) run in the loop's default executor.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Optional

from . import client as _client
from ._native import lib
from .errors import raise_status

__all__ = ["AsyncSSHClient"]


class AsyncSSHClient:
    """An ``SSHClient`` for asyncio: ``run`` is awaited on the event loop itself."""

    def __init__(self, *args, **kwargs):
        self._client = _client.SSHClient(*args, **kwargs)

    @property
    def sync(self) -> _client.SSHClient:
        """The underlying blocking client (same connection)."""
        return self._client

    async def run(
        self,
        command: str,
        timeout: float = 30.0,
        shell: str = "login",
        stdin: Optional[bytes] = None,
        env: Optional[dict] = None,
        cancel: Optional[_client.CancelToken] = None,
        secret_env: Optional[dict] = None,
    ) -> _client.Result:
        """As ``SSHClient.run`` (without ``on_output``), awaited."""
        pending = self._client._submit(command, timeout, shell, stdin, env, cancel, secret_env)
        return await _finish(pending)

    async def put_file(
        self, local: str, remote: str, timeout: float = 300.0, cancel: Optional[_client.CancelToken] = None
    ) -> str:
        """As ``SSHClient.put_file``, awaited; returns the path written."""
        pending = self._client._submit_transfer(
            lib.smol_ssh_submit_put_file, os.fsencode(local), os.fsencode(remote), timeout=timeout, cancel=cancel
        )
        return (await _finish(pending)).stdout.decode()

    async def get_file(
        self,
        remote: str,
        local: str,
        max_bytes: int = 2**64 - 1,
        timeout: float = 300.0,
        cancel: Optional[_client.CancelToken] = None,
    ) -> None:
        """As ``SSHClient.get_file``, awaited."""
        pending = self._client._submit_transfer(
            lib.smol_ssh_submit_get_file,
            os.fsencode(remote),
            os.fsencode(local),
            max_bytes,
            timeout=timeout,
            cancel=cancel,
        )
        await _finish(pending)

    async def _in_executor(self, method, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(method, *args, **kwargs))

    async def wait_for_ssh(self, timeout: float = 60.0, interval: float = 0.1) -> None:
        await self._in_executor(self._client.wait_for_ssh, timeout, interval)

    def __getattr__(self, name):
        # Transfers and file operations: the blocking method, run in the default executor.
        method = getattr(self._client, name)
        if not callable(method) or name.startswith("_"):
            return method

        async def call(*args, **kwargs):
            return await self._in_executor(method, *args, **kwargs)

        return call

    @property
    def connected(self) -> bool:
        return self._client.connected

    def close(self) -> None:
        self._client.close()

    def free(self) -> None:
        self._client.free()

    async def __aenter__(self) -> "AsyncSSHClient":
        return self

    async def __aexit__(self, *exc) -> None:
        self.free()


async def _finish(pending) -> _client.Result:
    """Awaits a C pending handle's descriptor, takes its result and frees it; cancelling the
    awaiting task cancels the call."""
    loop = asyncio.get_running_loop()
    try:
        if not lib.smol_ssh_pending_is_done(pending):
            done = loop.create_future()
            fd = lib.smol_ssh_pending_fd(pending)
            loop.add_reader(fd, lambda: done.done() or done.set_result(None))
            try:
                await done
            except asyncio.CancelledError:
                lib.smol_ssh_pending_cancel(pending)
                raise
            finally:
                loop.remove_reader(fd)
        status, message, result = _client._take(lib.smol_ssh_pending_result(pending))
    finally:
        lib.smol_ssh_pending_free(pending)
    if status != 0:
        raise_status(status, message, result.stdout, result.stderr)
    return result
