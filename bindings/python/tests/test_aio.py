"""The asyncio client: many runs in flight on one loop, no thread per call, cancellation."""

import asyncio
import threading
import time

import pytest

import smol_ssh
from smol_ssh.aio import AsyncSSHClient
from conftest import guest


def test_many_runs_on_one_loop_without_threads():
    async def main():
        async with AsyncSSHClient(**guest()) as c:
            await c.run("true")  # connected
            threads_before = threading.active_count()
            start = time.monotonic()
            results = await asyncio.gather(*(c.run(f"sleep 0.2; echo {i}", shell="raw") for i in range(40)))
            elapsed = time.monotonic() - start
            assert [r.output for r in results] == [str(i) for i in range(40)]
            assert threading.active_count() == threads_before
            # 40 runs of 0.2 s, at most 8 at once on one connection: about 1 s, not 8 s.
            assert elapsed < 4, elapsed

    asyncio.run(main())


def test_errors_timeouts_and_task_cancellation():
    async def main():
        async with AsyncSSHClient(**guest()) as c:
            r = await c.run("echo out; echo err >&2; exit 3")
            assert (r.exit_code, r.output, r.stderr) == (3, "out", b"err\n")
            with pytest.raises(smol_ssh.Timeout):
                await c.run("sleep 10", timeout=1)
            with pytest.raises(smol_ssh.InvalidArgument):
                await c.run("  ")
            task = asyncio.ensure_future(c.run("sleep 30"))
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The connection goes on; other calls run in the executor.
            assert (await c.run("echo again")).output == "again"
            assert await c.exists("/")

    asyncio.run(main())
