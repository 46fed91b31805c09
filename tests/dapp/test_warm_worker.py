"""A warm model worker (`dapp.compute.warm`) with real sandboxed processes: the model loads once
and answers over its pipe, prints do not break the frames, and each limit (output, time, a
model that fails to load) ends the call with its reason; which models are served warm is read
from the source without running it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dapp.compute.sandbox import SandboxLimits
from dapp.compute.warm import CHUNK, WarmCallFailed, WarmWorker, declares_handler

FAST = SandboxLimits(cpu_seconds=5, memory_bytes=512 << 20, output_bytes=1 << 20,
                     wall_seconds=10)


def worker(tmp_path: Path, body: str) -> WarmWorker:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.py").write_text(textwrap.dedent(body))
    return WarmWorker(folder / "model.py", folder, FAST, 10)


def test_model_loads_once_and_prints_do_not_break_the_frames(tmp_path: Path) -> None:
    warm = worker(tmp_path, """
        print("loading")  # stdout belongs to the frames: this goes to stderr
        loads = [1]

        def handle(body):
            print("handling", body)
            return body.upper() + b" %d" % len(loads)
    """)
    try:
        assert [warm.call(b"x" * n, 5) for n in (1, 2)] == [b"X 1", b"XX 1"]
        assert warm.alive
        assert "handling" in warm.stderr_tail()
    finally:
        warm.close()
    assert not warm.alive


def test_answer_over_the_output_limit_kills_the_worker(tmp_path: Path) -> None:
    warm = worker(tmp_path, """
        def handle(body):
            return b"x" * (2 << 20)
    """)
    with pytest.raises(WarmCallFailed) as failed:
        warm.call(b"", 5)
    assert failed.value.details["reason"] == "output size limit exceeded"
    assert not warm.alive


def test_model_that_fails_to_load_is_a_clear_failure(tmp_path: Path) -> None:
    with pytest.raises(WarmCallFailed) as failed:
        worker(tmp_path, """
            import no_such_module

            def handle(body):
                return body
        """)
    assert failed.value.details["reason"] == "loading the model raised ModuleNotFoundError"


def test_only_a_top_level_handle_is_served_warm(tmp_path: Path) -> None:
    cases = {"def handle(body):\n    return body\n": True,
             "import sys\nsys.stdout.write(sys.stdin.read())\n": False,
             "class M:\n    def handle(self, body):\n        return body\n": False,
             "def handle(:\n": False}
    for n, (source, warm) in enumerate(cases.items()):
        path = tmp_path / f"model{n}.py"
        path.write_text(source)
        assert declares_handler(path) is warm, source


def test_generator_is_advanced_only_when_the_gateway_asks_and_stops_cleanly(
        tmp_path: Path) -> None:
    """A streamed call: one chunk per request (the model counts how far it got), typed t/j/b;
    stopping closes the generator (its `finally` runs) and the worker answers the next call;
    a plain call joins a generator's chunks."""
    warm = worker(tmp_path, """
        progress = []

        def handle(body):
            if body == b"progress":
                return progress
            return chunks()

        def chunks():
            try:
                for i in range(1000):
                    progress.append(i)
                    yield "t%d" % i if i % 3 == 0 else ({"i": i} if i % 3 == 1 else b"b")
            finally:
                progress.append("closed")
    """)
    try:
        assert warm.start_stream(b"go", 5) == (CHUNK, b"tt0")
        assert warm.next_chunk(5) == (CHUNK, b'j{"i": 1}')
        assert warm.next_chunk(5) == (CHUNK, b"bb")
        warm.stop_stream(5)
        assert warm.call(b"progress", 5) == b'[0, 1, 2, "closed"]'
        assert warm.alive
    finally:
        warm.close()
