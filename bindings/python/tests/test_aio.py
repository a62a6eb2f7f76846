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


def test_transfers_are_awaited_on_the_loop(tmp_path):
    async def main():
        async with AsyncSSHClient(**guest()) as c:
            remote_dir = (await c.run("mktemp -d", shell="raw")).output
            try:
                local = tmp_path / "up.bin"
                local.write_bytes(bytes(range(256)) * 4096)
                threads_before = threading.active_count()
                written = await c.put_file(str(local), remote_dir + "/up.bin")
                assert written == remote_dir + "/up.bin"
                back = tmp_path / "down.bin"
                await c.get_file(written, str(back))
                assert back.read_bytes() == local.read_bytes()
                # No executor thread of Python's was used.
                assert threading.active_count() == threads_before
                with pytest.raises(smol_ssh.InvalidArgument):
                    await c.put_file(str(tmp_path / "missing"), remote_dir)
            finally:
                await c.run(f"rm -rf '{remote_dir}'", shell="raw")

    asyncio.run(main())
