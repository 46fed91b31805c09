"""A gateway's view of the compute sandbox for the escape tests, in the two ways a gateway runs:
as root (in-process: the tests run as root) and as an ordinary user (this module run as a
script under `setpriv --reuid=nobody`, answering with JSON), each with a data folder of its own
that holds the secrets an escape would reach for (key, keystore, database)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
USER = "nobody"
SECRETS = {
    "gateway-x25519.key": "SECRET-X25519-KEY",
    "keystore/provider.json": "SECRET-KEYSTORE",
    "dapp.db": "SECRET-DATABASE",
}


@dataclass
class Outcome:
    succeeded: bool
    reason: str | None
    stdout: str
    stderr: str
    outputs: dict[str, str] = field(default_factory=dict)  # relative path -> text

    def everything(self) -> str:
        return "\n".join([self.stdout, self.stderr, *self.outputs, *self.outputs.values()])


def limits_dict(**values: float) -> dict[str, float]:
    return values


def _outcome(result: object, workdir: Path) -> Outcome:
    output_dir: Path = result.output_dir  # type: ignore[attr-defined]
    outputs = {}
    if output_dir.is_dir():
        for path in sorted(output_dir.rglob("*")):
            if path.is_file() and not path.is_symlink():
                outputs[str(path.relative_to(output_dir))] = path.read_bytes()[:1 << 20].decode(
                    errors="replace")
    stdout = workdir / "stdout.log"
    return Outcome(result.succeeded, result.reason,  # type: ignore[attr-defined]
                   stdout.read_text(errors="replace") if stdout.is_file() else "",
                   result.stderr_tail, outputs)  # type: ignore[attr-defined]


def run_here(script: Path, workdir: Path, inputs: dict[str, str], limits: dict[str, float],
             stdin: str | None = None) -> Outcome:
    from dapp.compute.sandbox import SandboxLimits, run_python_in_sandbox

    workdir.mkdir(parents=True, exist_ok=True)
    result = run_python_in_sandbox(script, workdir, {k: Path(v) for k, v in inputs.items()},
                                   SandboxLimits(**limits),  # type: ignore[arg-type]
                                   stdin_bytes=stdin.encode() if stdin is not None else None)
    return _outcome(result, workdir)


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def warm_here(folder: Path, calls: list[list[str]], limits: dict[str, float],
              marker: str) -> dict[str, object]:
    """`calls` ([buyer, body] each) through a warm pool over the model in `folder`, then every
    worker evicted: the answers, and the processes carrying `marker` before and after."""
    from dapp.compute.sandbox import SandboxLimits
    from dapp.gateway.metered.warm_pool import WarmPool

    pool = WarmPool(SandboxLimits(**limits), max_workers=4,  # type: ignore[arg-type]
                    idle_seconds=3600, call_seconds=10)
    answers = [pool.call(folder, buyer, body.encode()).decode(errors="replace")
               for buyer, body in calls]
    deadline = time.monotonic() + 5  # the model's own process may still be starting
    while marker and not _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    before = len(_processes_with(marker)) if marker else 0
    pool.evict_idle(now=float("inf"))
    return {"answers": answers, "before": before, "after": _processes_with(marker)
            if marker else [], "live": pool.live}


class Gateway:
    """A gateway's home: `data_dir` (0700, the secrets) and `scratch` for its runs' folders."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.home = Path(tempfile.mkdtemp(prefix=f"sandbox-gw-{mode}-"))
        self.data_dir = self.home / "data"
        (self.data_dir / "keystore").mkdir(parents=True)
        for name, secret in SECRETS.items():
            (self.data_dir / name).write_text(secret)
            os.chmod(self.data_dir / name, 0o600)
        os.chmod(self.data_dir / "keystore", 0o700)
        os.chmod(self.data_dir, 0o700)
        self.count = 0
        if mode == "user":
            os.chmod(self.home, 0o755)
            entry = pwd.getpwnam(USER)
            for folder, dirs, files in os.walk(self.home):
                for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                    os.chown(name, entry.pw_uid, entry.pw_gid)
            self.uid = entry.pw_uid
        else:
            self.uid = os.getuid()

    def folder(self, name: str) -> Path:
        """A folder only the gateway's user may use."""
        path = self.home / name
        path.mkdir(mode=0o700)
        if self.mode == "user":
            os.chown(path, self.uid, -1)
        return path

    def file(self, name: str, text: str, mode: int = 0o600) -> Path:
        path = self.home / name
        path.write_text(text)
        os.chmod(path, mode)
        if self.mode == "user":
            os.chown(path, self.uid, -1)
        return path

    def run(self, body: str, inputs: dict[str, Path] | None = None,
            limits: dict[str, float] | None = None, stdin: str | None = None,
            env: dict[str, str] | None = None) -> Outcome:
        self.count += 1
        run_home = self.folder(f"run{self.count}")
        script = run_home / "algorithm.py"
        script.write_text(textwrap.dedent(body))
        if self.mode == "user":
            os.chown(script, self.uid, -1)
        workdir = run_home / "work"
        named = {k: str(v) for k, v in (inputs or {}).items()}
        limit_values = limits or {"cpu_seconds": 5, "memory_bytes": 512 << 20,
                                  "output_bytes": 1 << 20, "wall_seconds": 15}
        if self.mode == "root":
            return run_here(script, workdir, named, limit_values, stdin)
        request = json.dumps({"script": str(script), "workdir": str(workdir), "inputs": named,
                              "limits": limit_values, "stdin": stdin})
        completed = subprocess.run(
            ["setpriv", f"--reuid={USER}", "--regid=nogroup", "--clear-groups",
             "/usr/bin/python3", "-I", __file__],
            input=request, capture_output=True, text=True, timeout=120, cwd="/",
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        )
        if completed.returncode != 0:
            raise RuntimeError(f"the gateway (as {USER}) failed:\n{completed.stderr}")
        return Outcome(**json.loads(completed.stdout.splitlines()[-1]))

    def warm(self, model: str, calls: list[list[str]], marker: str = "") -> dict[str, object]:
        """`model` (a model.py defining `handle`) served warm for `calls`, then evicted
        (`warm_here`), by this gateway: in-process as root, under `setpriv` as the user."""
        self.count += 1
        folder = self.folder(f"model{self.count}")
        (folder / "model.py").write_text(textwrap.dedent(model))
        if self.mode == "user":
            os.chown(folder / "model.py", self.uid, -1)
        limits = {"cpu_seconds": 5, "memory_bytes": 512 << 20, "output_bytes": 1 << 20,
                  "wall_seconds": 15}
        if self.mode == "root":
            return warm_here(folder, calls, limits, marker)
        request = json.dumps({"warm": str(folder), "calls": calls, "limits": limits,
                              "marker": marker})
        completed = subprocess.run(
            ["setpriv", f"--reuid={USER}", "--regid=nogroup", "--clear-groups",
             "/usr/bin/python3", "-I", __file__],
            input=request, capture_output=True, text=True, timeout=120, cwd="/",
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
        )
        if completed.returncode != 0:
            raise RuntimeError(f"the gateway (as {USER}) failed:\n{completed.stderr}")
        return dict(json.loads(completed.stdout.splitlines()[-1]))

    def secrets_intact(self) -> bool:
        return all((self.data_dir / name).read_text() == secret
                   for name, secret in SECRETS.items())

    def close(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


def _serve() -> None:  # as the ordinary user: one run, answered on stdout
    request = json.loads(sys.stdin.read())
    if "warm" in request:
        print(json.dumps(warm_here(Path(request["warm"]), request["calls"], request["limits"],
                                   request["marker"])))
        return
    outcome = run_here(Path(request["script"]), Path(request["workdir"]), request["inputs"],
                       request["limits"], request["stdin"])
    print(json.dumps(outcome.__dict__))


if __name__ == "__main__":
    sys.path.insert(0, os.environ.get("PYTHONPATH", ""))
    _serve()
