"""A warm model worker: a model's code loaded once inside the bubblewrap sandbox, answering
calls over a pipe.

The worker is the same sandbox as a run (`dapp.compute.sandbox`: every namespace unshared, no
network, `/usr` and the model's folder read-only, tmpfs `/tmp` and `/out`, its own uid when the
gateway is root, rlimits on CPU, address space, file size and processes). Inside, a small
loop imports `model.py` once and calls its `handle(body: bytes)` for each request:

- gateway → worker: a 4-byte big-endian length, a mode byte (0 call, 1 stream), the body;
- worker → gateway: 1 byte (1 answered, 0 failed, 2 a chunk, 3 the stream ended), a 4-byte
  length, an 8-byte float (the worker's CPU seconds so far), then the answer (or, failed, a
  short reason; a chunk: a kind byte, t text, b bytes, j JSON, and its data).

Streams: when `handle` returns a generator and the mode is 1, the worker sends its first
chunk and then one more per b"\x01" the gateway writes; b"\x00" closes the generator (ENDED
answers). So the model computes no chunk the gateway did not ask for, and a stream cut short
leaves a worker ready for the next call. In mode 0 a generator's chunks are joined into one
answer.

Everything the worker writes is untrusted: a frame longer than `output_bytes` kills it, a
call that takes longer than its time limit kills it, and a reason is cut and cleaned before
it is shown. Killing means SIGKILL to the PID namespace's init (`_end_namespace`): every
process the model started ends with it, and nothing is left behind after eviction. A worker
that failed a call, or used half its CPU budget, is not reused.

bwrap's `--die-with-parent` is a parent-death signal, sent when the *thread* that started
it ends: workers are started from one long-lived thread of their own (`_SPAWNER`).
"""

from __future__ import annotations

import ast
import contextlib
import os
import select
import struct
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dapp.compute import sandbox
from dapp.compute.sandbox import (
    OUTPUT_INSIDE,
    SANDBOX_PYTHON,
    SCRATCH_INSIDE,
    SandboxLimits,
    _apply_limits,
    _as,
    _base_arguments,
    _end_namespace,
    _failure_reason,
    _Identity,
    _layout,
    _process_allowance,
    _release_identity,
    _remove_run_dir,
    _run_dir,
    _take_identity,
    isolation_problem,
    runs_as_root,
)
from dapp.errors import DappError

HANDLER = "handle"
MAX_SOURCE_BYTES = 1 << 20  # a model.py larger than this is not parsed: it runs cold
REASON_BYTES = 200
_ANSWER_HEAD = struct.Struct(">BId")
FAILED, ANSWERED, CHUNK, ENDED = 0, 1, 2, 3  # the kinds of the worker's frames
_REQUEST_HEAD = struct.Struct(">IB")  # body length, mode (0 call, 1 stream)
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warm-spawner")

# Runs inside the sandbox as `python -I -S -c WORKER <model.py>`, with the model's rights: it
# can be tampered with by the model, and then forges nothing but that model's own answers.
WORKER = r"""
import json, os, resource, runpy, struct, sys, traceback
requests = os.fdopen(os.dup(0), "rb", buffering=0)
answers = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
os.dup2(2, 1)
def cpu():
    own, children = resource.getrusage(0), resource.getrusage(-1)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
def answer(ok, payload):
    try:
        sys.stdout.flush()
    except BaseException:
        pass
    answers.write(struct.pack(">BId", ok, len(payload), cpu()) + payload)
def exact(n):
    data = b""
    while len(data) < n:
        chunk = requests.read(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data
def reason(error):
    if isinstance(error, SystemExit):
        return "exited with code %s" % (error.code if isinstance(error.code, int) else 1)
    if isinstance(error, MemoryError):
        return "memory limit exceeded"
    return "raised " + type(error).__name__
try:
    handle = runpy.run_path(sys.argv[1], run_name="__model__")["handle"]
except BaseException as error:
    traceback.print_exc()
    answer(0, ("loading the model " + reason(error)).encode())
    sys.exit(0)
def encoded(value):
    if isinstance(value, str):
        return b"t" + value.encode()
    if isinstance(value, (bytes, bytearray)):
        return b"b" + bytes(value)
    return b"j" + json.dumps(value).encode()
def whole(result):
    if hasattr(result, "__next__"):  # a generator answering a plain call: all its chunks
        items = list(result)
        if all(isinstance(item, (bytes, bytearray)) for item in items):
            return b"".join(items)
        if all(isinstance(item, str) for item in items):
            return "".join(items).encode()
        return json.dumps(items).encode()
    if isinstance(result, str):
        return result.encode()
    if isinstance(result, (bytes, bytearray)):
        return bytes(result)
    return json.dumps(result).encode()
def streamed(result):
    # one chunk per request of the gateway (b"\x01" next, b"\x00" stop): nothing is
    # computed ahead of what the gateway asked for
    while True:
        try:
            chunk = encoded(next(result))
        except StopIteration:
            answer(3, b"")
            return
        answer(2, chunk)
        if exact(1) != b"\x01":
            result.close()
            answer(3, b"")
            return
answer(1, b"")
while True:
    size, mode = struct.unpack(">IB", exact(5))
    body = exact(size)
    try:
        result = handle(body)
        if mode == 1 and hasattr(result, "__next__"):
            streamed(result)
            continue
        result = whole(result)
    except BaseException as error:
        traceback.print_exc()
        answer(0, reason(error).encode())
        continue
    answer(1, result)
"""


class WarmCallFailed(DappError):
    """The model's call failed in its worker (an exception, a limit, the worker died)."""

    code = "model-failed"
    http_status = 502


def declares_handler(script: Path) -> bool:
    """True when `script` defines a top-level `handle` function (read, never run: the
    gateway only parses it). Such a model can be served warm; any other runs cold."""
    try:
        if script.stat().st_size > MAX_SOURCE_BYTES:
            return False
        tree = ast.parse(script.read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == HANDLER
               for node in tree.body)


class WarmWorker:
    """One sandboxed process holding one model, serving one call at a time. Blocking: use it
    from worker threads. `close()` ends it and every process it started."""

    def __init__(self, script: Path, folder: Path, limits: SandboxLimits,
                 start_seconds: float, libraries: tuple[tuple[Path, Path], ...] = ()) -> None:
        self.limits = limits
        self.libraries = libraries  # (host path, path inside): bound read-only (TenSEAL...)
        self.calls = 0
        self.cpu_seconds = 0.0
        self.healthy = True
        self.last_used = time.monotonic()
        self._identity: _Identity | None = _take_identity() if runs_as_root() else None
        self._run_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        try:
            problem = isolation_problem(self._identity)
            if problem is not None:
                raise sandbox._unavailable(problem)
            if self._identity is not None:
                self._run_dir = _run_dir(self._identity)
            layout = _layout(script, {"MODEL_DIR": folder}, self._run_dir)
            self._process = _SPAWNER.submit(self._spawn, layout).result()
            assert self._process.stdin is not None and self._process.stdout is not None
            self._requests = self._process.stdin.fileno()
            self._answers = self._process.stdout.fileno()
            os.set_blocking(self._requests, False)
            kind, payload = self._read_answer(time.monotonic() + start_seconds)
            if kind != ANSWERED:
                raise self._fail(_clean(payload) or "the model did not load")
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _spawn(self, layout: sandbox._Layout) -> subprocess.Popen[bytes]:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(SCRATCH_INSIDE), "LANG": "C.UTF-8",
               "OUTPUT": str(OUTPUT_INSIDE), **layout.env}
        command = [*_base_arguments(),
                   "--size", str(self.limits.output_bytes), "--tmpfs", str(OUTPUT_INSIDE),
                   "--size", str(self.limits.scratch_bytes), "--tmpfs", str(SCRATCH_INSIDE)]
        for source, inside in [*layout.binds, *self.libraries]:
            command += ["--ro-bind", str(source), str(inside)]
        for name, value in env.items():
            command += ["--setenv", name, value]
        command += ["--chdir", str(SCRATCH_INSIDE),
                    SANDBOX_PYTHON, "-I", "-S", "-c", WORKER, str(layout.script)]
        processes = _process_allowance(self.limits, self._identity)
        limits = self.limits
        return subprocess.Popen(
            command, cwd="/", env={}, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, start_new_session=True,
            preexec_fn=lambda: _apply_limits(limits, processes), **_as(self._identity))

    # -- one call ------------------------------------------------------------------------------
    def call(self, body: bytes, seconds: float) -> bytes:
        """The model's answer to `body`; WarmCallFailed when it failed or took longer than
        `seconds` (the worker is then killed, or at least never reused). A `handle` that
        returns a generator answers with all its chunks (joined, or a JSON list)."""
        _, payload = self._exchange(_REQUEST_HEAD.pack(len(body), 0) + body, seconds,
                                    (ANSWERED,))
        return payload

    def start_stream(self, body: bytes, seconds: float) -> tuple[int, bytes]:
        """Send `body` for a streamed answer: (ANSWERED, the whole answer) when `handle`
        returned one, (CHUNK, its first chunk) when it returned a generator (then
        `next_chunk` or `stop_stream` until ENDED), (ENDED, b"") for an empty one. A chunk is
        one kind byte (t text, b bytes, j JSON) and the data."""
        return self._exchange(_REQUEST_HEAD.pack(len(body), 1) + body, seconds,
                              (ANSWERED, CHUNK, ENDED))

    def next_chunk(self, seconds: float) -> tuple[int, bytes]:
        """The stream's next chunk (CHUNK) or its end (ENDED), within `seconds`."""
        return self._exchange(b"\x01", seconds, (CHUNK, ENDED))

    def stop_stream(self, seconds: float) -> None:
        """End the stream before the model did (its generator is closed, the worker stays
        usable)."""
        self._exchange(b"\x00", seconds, (ENDED,))

    def _exchange(self, request: bytes, seconds: float, expected: tuple[int, ...]
                  ) -> tuple[int, bytes]:
        deadline = time.monotonic() + seconds
        self.calls += 1
        try:
            self._write(request, deadline)
            kind, payload = self._read_answer(deadline)
            if kind != FAILED and kind not in expected:
                raise self._fail("the worker broke its protocol", kill=True)
        except WarmCallFailed:
            self.close()
            raise
        self.last_used = time.monotonic()
        if kind == FAILED:
            self.healthy = False
            raise WarmCallFailed(f"the model failed: {_clean(payload)}",
                                 details={"reason": _clean(payload)})
        if kind != CHUNK and (self.cpu_seconds > self.limits.cpu_seconds / 2 or
                              self._stderr_bytes() > self.limits.output_bytes // 2):
            self.healthy = False  # retire it before a limit ends a call
        return kind, payload

    def _write(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        poller = select.poll()
        poller.register(self._requests, select.POLLOUT)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail("call time limit exceeded", kill=True)
            if not poller.poll(left * 1000):
                continue
            try:
                written = os.write(self._requests, view)
            except BlockingIOError:
                continue
            except OSError:
                raise self._fail(None) from None
            view = view[written:]

    def _read_answer(self, deadline: float) -> tuple[int, bytes]:
        kind, length, cpu = _ANSWER_HEAD.unpack(self._read_exact(_ANSWER_HEAD.size, deadline))
        self.cpu_seconds = cpu if cpu == cpu else self.cpu_seconds  # NaN: keep the last
        if length > self.limits.output_bytes:
            raise self._fail("output size limit exceeded", kill=True)
        return kind, self._read_exact(length, deadline)

    def _read_exact(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        missing = size
        poller = select.poll()  # not select(): a busy gateway has descriptors above 1024
        poller.register(self._answers, select.POLLIN)
        while missing:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail("call time limit exceeded", kill=True)
            if not poller.poll(left * 1000):
                continue
            chunk = os.read(self._answers, min(missing, 1 << 20))
            if not chunk:
                raise self._fail(None)
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def _fail(self, reason: str | None, kill: bool = False) -> WarmCallFailed:
        """Kill the worker; the error to raise. `reason` None: the worker ended by itself,
        and its exit status and stderr tell why."""
        self.healthy = False
        if kill or reason is None:
            self.close()
        if reason is None:
            code = self._process.returncode if self._process is not None else None
            reason = _failure_reason(code if code is not None else 1, self._stderr_tail(),
                                     False)
        return WarmCallFailed(f"the model failed: {reason}", details={"reason": reason})

    def _stderr_bytes(self) -> int:
        try:
            return os.fstat(self._stderr.fileno()).st_size
        except (OSError, ValueError):
            return 0

    def _stderr_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):  # pread: the worker shares the offset
            size = self._stderr_bytes()
            start = max(0, size - sandbox.LOG_TAIL_BYTES)
            return os.pread(self._stderr.fileno(), size - start, start).decode(errors="replace")
        return ""

    def stderr_tail(self) -> str:
        return self._stderr_tail()

    # -- its end -------------------------------------------------------------------------------
    def close(self) -> None:
        """End the worker's PID namespace (every process of it), then its staging folder and
        uid. Idempotent."""
        self.healthy = False
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                _end_namespace(process)
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
            self._process = process  # keep its returncode for the failure reason
        if self._run_dir is not None:
            _remove_run_dir(self._run_dir)
            self._run_dir = None
        if self._identity is not None:
            _release_identity(self._identity)
            self._identity = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None and self.healthy


def _clean(payload: bytes) -> str:
    text = payload[:REASON_BYTES].decode(errors="replace")
    return "".join(c if c.isprintable() else "?" for c in text)

