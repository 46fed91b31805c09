"""Run untrusted algorithm code in a separate process with no network and hard limits.

Isolation when the gateway runs as root (the usual case on dev machines, CI and containers):

- a new network namespace (`unshare -n`: only a downed loopback, so not even localhost is
  reachable) and a new IPC namespace (`-i`);
- its own uid and gid, picked per run from `SANDBOX_IDS` and never shared by two live runs
  (`unshare --setgid G --setuid U`, which also drops every supplementary group). The child can
  read what "others" may read and nothing else: `<data_dir>` (made 0700, see
  `protect_data_dir`) with the gateway's X25519 key, the keystore, the database and the model
  cache stays closed, and so do the files of any other run, even one running at the same time;
- everything the child needs is staged in a fresh work folder outside `<data_dir>` (under the
  system temp folder, `dapp-sandbox-*`): its inputs copied (root-owned, folders 0755, files
  0644 — readable, not writable; files already root-owned and 0444 are hard-linked), its
  scratch folder (the working directory and `$OUTPUT`) owned by the run's uid, 0700. Symlinks
  are copied as links, never followed by the parent;
- stdout and stderr go to files the parent opened in the caller's private folder;
- when the run ends (or is killed at the wall-time limit) every process left with the run's
  uid is killed (`kill -KILL -1` as that uid: daemons that escaped the process group included),
  files it left in /tmp, /var/tmp and /dev/shm are removed, and only then are the results
  copied out: regular files and folders only (symlinks, FIFOs and hard-linked files are
  dropped, so a result can never be a link to a file only the gateway may read);
- rlimits on CPU time, address space, file size and processes (per uid, so per run), a minimal
  environment, its own process group.

What it still sees: whatever the host leaves world-readable (the gateway's source, `/etc`, a
world-readable file outside the data folder). The interpreter is this one when the run's uid may
execute it, else the system `python3` (a pyenv under a 0700 `/root` is out of its reach), and
then packages installed only in the gateway's venv cannot be imported.

When the gateway does not run as root it cannot switch users. The sandbox then uses
`unshare -n` if it is allowed (CAP_SYS_ADMIN) and otherwise `unshare -rn` (a user namespace
where the child is "root" only inside). Either way **the child can read every file the
gateway's user can read**, the data folder and the gateway key included. Run the gateway as
root in a container (it then drops to a per-run uid as above), or give the compute work to a
container/cluster executor (`dapp.compute.executor.Executor`), whenever published algorithms
and models are not trusted.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dapp.errors import DappError

log = logging.getLogger("dapp.compute.sandbox")

UNSHARE = "/usr/bin/unshare"
KILL = "/bin/kill"
LOG_TAIL_BYTES = 4096
#: uids (and the same gids) handed to runs when the gateway is root: one per live run. Unused by
#: any account (systemd's dynamic users end at 65519, its container ranges start at 2^31 - 2^17).
#: `range(65534, 65535)` would run everything as `nobody` — only do that if runs never overlap
#: and nothing else on the host runs as nobody (leftover processes of the uid are killed).
SANDBOX_IDS = range(2_000_000_000, 2_000_000_000 + (1 << 24))
#: where run folders are made; None is the system temp folder. Must not be inside data_dir.
WORK_PARENT: Path | None = None
#: the interpreter for the child; None: this one if the run's uid may execute it, else the first
#: of `FALLBACK_PYTHONS` it may (a venv's python under a 0700 home is out of its reach).
SANDBOX_PYTHON: str | None = None
FALLBACK_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
#: world-writable folders searched for files a run left behind
SCRATCH_DIRS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))
# What Python prints when code in the sandbox reaches for the network it does not have.
NETWORK_ERRORS = ("Network is unreachable", "Temporary failure in name resolution",
                  "Name or service not known", "Cannot assign requested address")


class SandboxUnavailable(DappError):
    code = "sandbox-unavailable"
    http_status = 503


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30
    output_bytes: int = 64 << 20
    wall_seconds: float = 120.0
    processes: int = 256  # processes and threads of the run's uid (only when the gateway is root)


@dataclass(frozen=True)
class SandboxResult:
    succeeded: bool
    reason: str | None
    exit_code: int | None
    wall_seconds: float
    output_dir: Path
    stderr_tail: str


@dataclass(frozen=True)
class _Identity:
    uid: int
    gid: int


# -- how the child is started --------------------------------------------------------------------
_modes: dict[str, list[str] | None] = {}
_pythons: dict[str, str | None] = {}
_probe_lock = threading.RLock()
_ids_in_use: set[int] = set()
_ids_lock = threading.Lock()


def runs_as_root() -> bool:
    return os.geteuid() == 0


def _works(command: list[str], identity: _Identity | None = None) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=10,
                              preexec_fn=_drop_groups if identity else None).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _namespace_flags() -> list[str] | None:
    """The unshare flags that cut the network here: root gets the net and IPC namespaces; an
    ordinary user the net namespace if allowed, else a user namespace around it."""
    with _probe_lock:
        if "flags" not in _modes:
            candidates = ([["-n", "-i"]] if runs_as_root()
                          else [["-n", "-i"], ["-n"], ["-r", "-n", "-i"], ["-r", "-n"]])
            _modes["flags"] = next((flags for flags in candidates
                                    if _works([UNSHARE, *flags, "--", "true"])), None)
        return _modes["flags"]


def network_isolation_works() -> bool:
    return _namespace_flags() is not None


def _python_for(identity: _Identity | None) -> str:
    if SANDBOX_PYTHON is not None:
        return SANDBOX_PYTHON
    if identity is None:
        return sys.executable
    with _probe_lock:
        if "python" not in _pythons:
            _pythons["python"] = next(
                (python for python in (sys.executable, *FALLBACK_PYTHONS)
                 if _works([*_unshare(identity), python, "-I", "-c", "pass"], identity)), None)
        python = _pythons["python"]
    if python is None:
        raise SandboxUnavailable("no Python interpreter the sandbox user may run",
                                 hint="install /usr/bin/python3 or set "
                                      "dapp.compute.sandbox.SANDBOX_PYTHON")
    return python


def _unshare(identity: _Identity | None) -> list[str]:
    flags = _namespace_flags() or ["-n"]
    if identity is None:
        return [UNSHARE, *flags, "--"]
    return [UNSHARE, *flags, "--setgid", str(identity.gid), "--setuid", str(identity.uid), "--"]


def _take_identity() -> _Identity:
    with _ids_lock:
        while True:
            uid = SANDBOX_IDS[random.randrange(len(SANDBOX_IDS))]
            if uid not in _ids_in_use or len(_ids_in_use) >= len(SANDBOX_IDS):
                _ids_in_use.add(uid)
                return _Identity(uid, uid)


def _release_identity(identity: _Identity) -> None:
    with _ids_lock:
        _ids_in_use.discard(identity.uid)


def _drop_groups() -> None:
    os.setgroups([])


def _apply_limits(limits: SandboxLimits, as_root: bool) -> None:
    """Runs in the child between fork and exec (still as the gateway's user: unshare needs it)."""
    os.setsid()
    if as_root:
        os.setgroups([])
        # counted per uid; root (unshare itself) is exempt, the run's fresh uid starts at zero
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# -- the data folder ----------------------------------------------------------------------------
def protect_data_dir(data_dir: Path) -> None:
    """Make the gateway's data folder 0700 when it is ours, so nothing in it (the gateway key,
    the keystore, the database, decrypted models) is open to the sandbox's uids even if a file
    inside was created with a loose mode."""
    try:
        info = data_dir.stat()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
        return
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(data_dir, stat.S_IMODE(info.st_mode) & 0o700)


# -- staging ------------------------------------------------------------------------------------
def _readable_copy(source: Path, target: Path) -> None:
    """Stage a file or a tree for the child without following any symlink (a link is copied as
    a link: the child resolves it with its own rights). Folders become 0755, files 0644 (0755
    when executable), owned by the gateway's user: readable, not writable. A file that is
    already so (the fetcher's 0444 inputs) is hard-linked instead of copied when it can be."""
    if not source.is_dir() or source.is_symlink():
        _place_file(source, target)
        return
    for folder, dirs, files in os.walk(source):  # does not enter symlinked folders
        into = target / Path(folder).relative_to(source)
        into.mkdir()
        os.chmod(into, 0o755)
        for name in dirs:
            if os.path.islink(os.path.join(folder, name)):
                _place_file(Path(folder, name), into / name)
        for name in files:
            _place_file(Path(folder, name), into / name)


def _place_file(source: Path, target: Path) -> None:
    info = os.lstat(source)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(source), target)
        return
    if not stat.S_ISREG(info.st_mode):
        return  # FIFOs, sockets, devices: nothing an algorithm needs
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid == os.geteuid() and mode & 0o004 and not mode & 0o022 \
            and not mode & (stat.S_ISUID | stat.S_ISGID):
        try:
            os.link(source, target, follow_symlinks=False)
            return
        except OSError:  # another file system: copy
            pass
    shutil.copyfile(source, target, follow_symlinks=False)
    os.chmod(target, 0o755 if mode & 0o111 else 0o644)


def _stage(run_dir: Path, script: Path, inputs: dict[str, Path]) -> tuple[Path, dict[str, Path]]:
    """Copy the inputs under `run_dir/inputs/<NAME>/`; the script maps to its staged copy when
    it lies inside one of them, else it is copied on its own."""
    staged_root = run_dir / "inputs"
    staged_root.mkdir(mode=0o755)
    staged: dict[str, Path] = {}
    script_copy: Path | None = None
    for name, source in inputs.items():
        holder = staged_root / name
        holder.mkdir(mode=0o755)
        target = holder / source.name
        _readable_copy(source, target)
        staged[name] = target
        if script_copy is None and source.is_dir() and script.is_relative_to(source):
            script_copy = target / script.relative_to(source)
    if script_copy is None:
        holder = staged_root / ".script"
        holder.mkdir(mode=0o755)
        script_copy = holder / script.name
        _readable_copy(script, script_copy)
    for folder in (run_dir, staged_root):
        os.chmod(folder, 0o755)
    return script_copy, staged


# -- after the run ------------------------------------------------------------------------------
def _kill_everything_of(identity: _Identity) -> None:
    """SIGKILL every process of the run's uid (kill(-1) as that uid reaches them all, however
    they detached). Safe because no other run and no account uses the uid."""
    for _ in range(2):
        try:
            subprocess.run([KILL, "-KILL", "-1"], user=identity.uid, group=identity.gid,
                           extra_groups=[], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            log.exception("cannot kill the processes left by sandbox uid %d", identity.uid)


def _remove_strays(identity: _Identity) -> None:
    for scratch in SCRATCH_DIRS:
        try:
            entries = list(os.scandir(scratch))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != identity.uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue


def _collect(source: Path, target: Path) -> list[str]:
    """Copy the run's output to `target` as the gateway's user: regular files (not hard-linked)
    and folders only. Returns what was dropped."""
    dropped: list[str] = []
    target.mkdir(parents=True, exist_ok=True)
    if not stat.S_ISDIR(os.lstat(source).st_mode):  # the child swapped $OUTPUT for a link
        return [source.name]
    for folder, dirs, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        for name in dirs:
            if os.path.islink(os.path.join(folder, name)):
                dropped.append(str(relative / name))
            else:
                (target / relative / name).mkdir(exist_ok=True)
        for name in files:
            path = os.path.join(folder, name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as error:
                if error.errno not in (errno.ELOOP, errno.ENXIO, errno.EACCES):
                    raise
                dropped.append(str(relative / name))
                continue
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                    dropped.append(str(relative / name))
                    continue
                with (target / relative / name).open("wb") as out:
                    shutil.copyfileobj(handle, out)
    return dropped


def _remove_run_dir(run_dir: Path) -> None:
    for folder, _dirs, _files in os.walk(run_dir):
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)
    shutil.rmtree(run_dir, ignore_errors=True)


# -- the run -------------------------------------------------------------------------------------
def _directory_size(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def _tail(path: Path) -> str:
    if not path.is_file():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
        return handle.read().decode(errors="replace")


def _failure_reason(exit_code: int, stderr: str, timed_out: bool) -> str:
    if timed_out:
        return "wall time limit exceeded"
    if exit_code in (-signal.SIGXCPU, -signal.SIGKILL) and "MemoryError" not in stderr:
        return "cpu time limit exceeded"
    if exit_code == -signal.SIGXFSZ or "File too large" in stderr:
        return "output size limit exceeded"
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return "memory limit exceeded"
    if any(marker in stderr for marker in NETWORK_ERRORS):
        return f"network access denied (exited with code {exit_code})"
    if exit_code < 0:
        return f"killed by signal {signal.Signals(-exit_code).name}"
    return f"exited with code {exit_code}"


def run_python_in_sandbox(
    script: Path,
    workdir: Path,
    inputs: dict[str, Path],
    limits: SandboxLimits,
    stdin_bytes: bytes | None = None,
) -> SandboxResult:
    """Run `script` with `python -I` on staged copies of `inputs` (passed as env vars: `INPUT`,
    `ALGORITHM`, `MODEL_DIR`... each naming its copy); the child's `$OUTPUT` is collected into
    `workdir/output`, its stdout/stderr go to `workdir/stdout.log` / `stderr.log`. `workdir` is
    the caller's private folder: the child never sees it."""
    if not network_isolation_works():
        raise SandboxUnavailable("cannot create a network namespace for the sandbox",
                                 hint="the compute executor needs CAP_SYS_ADMIN (unshare -n) "
                                      "or unprivileged user namespaces (unshare -rn)")
    as_root = runs_as_root()
    identity = _take_identity() if as_root else None
    output_dir = workdir / "output"
    output_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="dapp-sandbox-", dir=WORK_PARENT))
    try:
        python = _python_for(identity)
        staged_script, staged = _stage(run_dir, script, inputs)
        scratch = run_dir / "run"
        scratch.mkdir(mode=0o700)
        (scratch / "output").mkdir(mode=0o700)
        if identity is not None:
            for path in (scratch, scratch / "output"):
                os.chown(path, identity.uid, identity.gid)
        outcome = _run(python, staged_script, scratch, staged, limits, identity, workdir,
                       stdin_bytes)
        if identity is not None:
            _kill_everything_of(identity)
            _remove_strays(identity)
        dropped = _collect(scratch / "output", output_dir)
        if dropped:
            log.warning("sandbox output: dropped links and special files %s", dropped[:20])
    finally:
        _remove_run_dir(run_dir)
        if identity is not None:
            _release_identity(identity)
    exit_code, timed_out, wall = outcome
    stderr_tail = _tail(workdir / "stderr.log")
    if not timed_out and exit_code == 0:
        if _directory_size(output_dir) > limits.output_bytes:
            return SandboxResult(False, "output size limit exceeded", exit_code, wall,
                                 output_dir, stderr_tail)
        return SandboxResult(True, None, exit_code, wall, output_dir, stderr_tail)
    reason = _failure_reason(exit_code, stderr_tail, timed_out)
    return SandboxResult(False, reason, exit_code, wall, output_dir, stderr_tail)


def _run(python: str, script: Path, scratch: Path, inputs: dict[str, Path],
         limits: SandboxLimits, identity: _Identity | None, workdir: Path,
         stdin_bytes: bytes | None) -> tuple[int, bool, float]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(scratch), "LANG": "C.UTF-8",
           "OUTPUT": str(scratch / "output"),
           **{name: str(path) for name, path in inputs.items()}}
    as_root = identity is not None
    started = time.monotonic()
    with (workdir / "stdout.log").open("wb") as stdout, \
            (workdir / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [*_unshare(identity), python, "-I", str(script)],
            cwd=scratch, env=env, stdout=stdout, stderr=stderr,
            stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
            preexec_fn=lambda: _apply_limits(limits, as_root),
        )
        timed_out = False
        try:
            process.communicate(stdin_bytes, timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, timed_out, time.monotonic() - started
