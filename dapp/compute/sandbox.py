"""Run untrusted algorithm code in a bubblewrap sandbox: it sees its own inputs and nothing else.

One `bwrap` (Debian's bubblewrap, 0.8) per run, with every namespace unshared (user, mount,
PID, network, IPC, UTS, cgroup), no further user namespaces inside, `--die-with-parent`, a new
session, no capabilities and a cleared environment. The run's root is built from nothing:

- `/usr` read-only (with the merged-/usr links `/bin`, `/lib`, `/lib64`): the interpreter,
  `SANDBOX_PYTHON`, and its standard library; nothing else of the host (no `/etc`, `/home`,
  `/root`, `/run`, `/var`, no data folder, no other run's files);
- its inputs read-only at `/in/<NAME>/<file or folder>` (`$INPUT`, `$ALGORITHM`, `$MODEL_DIR`
  name them);
- `$OUTPUT` (`/out`) and the scratch folder (`/tmp`, the working directory and `$HOME`): tmpfs
  of `output_bytes` and `scratch_bytes`, so a run cannot fill the host's disk;
- its own `/proc` (its own processes only) and a minimal `/dev`.

Who the run is: when the gateway is root, `bwrap` itself runs as a uid of its own, picked per
run from `SANDBOX_IDS` and never shared by two live runs (no supplementary groups): even out of
its namespaces the run is nobody the host knows, and `RLIMIT_NPROC` counts its processes
alone. Its staged inputs lie in a folder of the run (`<WORK_PARENT>/run-*`, 0750, group of the
run's gid, in a 0711 root folder): readable files are hard-linked, others copied readable.
When the gateway is an ordinary user, `bwrap` runs as that user in an unprivileged user
namespace and binds the inputs where they are: outside its mounts the run can reach nothing,
the gateway's own files included. Where neither works (no bwrap, user namespaces disabled),
untrusted code does not run: `SandboxUnavailable`.

Results are collected only once every process of the run is gone, and never by walking a
folder the run controls: a small launcher inside the sandbox runs the algorithm, waits for it,
SIGKILLs every other process of the run's PID namespace, and streams `$OUTPUT` as a tar
through a pipe; the gateway reads at most a bounded number of bytes and, after `bwrap` has
exited (a PID namespace ends with its init, and no process of it outlives that), unpacks only
regular files and folders into the caller's `workdir/output`. What the run can forge there is
its own output. stdout and stderr go to files the gateway opened in the caller's folder
(bounded by `RLIMIT_FSIZE`).

Limits: rlimits on CPU time, address space (the memory cap, per process), file size, core
dumps and processes; the tmpfs sizes above; the wall-time limit kills the namespace's init,
which ends every process of the run.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dapp.errors import DappError

log = logging.getLogger("dapp.compute.sandbox")

BWRAP = "/usr/bin/bwrap"
LOG_TAIL_BYTES = 4096
#: uids (and the same gids) handed to runs when the gateway is root: one per live run. Unused by
#: any account (systemd's dynamic users end at 65519, its container ranges start at 2^31 - 2^17).
SANDBOX_IDS = range(2_000_000_000, 2_000_000_000 + (1 << 24))
#: where a root gateway stages runs' inputs; None: `dapp-sandbox` in the system temp folder.
#: Put it on the file system of the data folder to hard-link model files instead of copying.
WORK_PARENT: Path | None = None
#: the interpreter inside the sandbox; it must live under /usr (the only host folder mounted)
SANDBOX_PYTHON = "/usr/bin/python3"
#: what the run sees; bound read-only
HOST_FOLDERS = ("/usr",)
MERGED_USR_LINKS = (("usr/bin", "/bin"), ("usr/lib", "/lib"), ("usr/lib64", "/lib64"),
                    ("usr/sbin", "/sbin"))
INPUTS_INSIDE = Path("/in")
OUTPUT_INSIDE = Path("/out")
SCRATCH_INSIDE = Path("/tmp")
#: processes bwrap and the launcher add to the run's own: outer bwrap, its init, the launcher
OVERHEAD_PROCESSES = 3
# What Python prints when code in the sandbox reaches for the network it does not have.
NETWORK_ERRORS = ("Network is unreachable", "Temporary failure in name resolution",
                  "Name or service not known", "Cannot assign requested address")

# Runs inside the sandbox as `python -I -S -c LAUNCHER <script>`, with the run's rights: it
# can be tampered with by the algorithm, and then forges nothing but the algorithm's own output.
LAUNCHER = r"""
import json, os, sys, tarfile
status = os.fdopen(int(sys.argv[2]), "wb")
child = os.fork()
if child == 0:
    status.close()
    os.execv(sys.executable, [sys.executable, "-I", sys.argv[1]])
_, code = os.waitpid(child, 0)
try:
    os.kill(-1, 9)
except OSError:
    pass
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
fs = os.statvfs("/out")
full = fs.f_bavail * fs.f_frsize < 64 * 1024 or fs.f_favail < 16
status.write((json.dumps({"status": code, "output_full": full}) + "\n").encode())
with tarfile.open(fileobj=status, mode="w|", format=tarfile.PAX_FORMAT) as tar:
    for name in sorted(os.listdir("/out")):
        tar.add("/out/" + name, arcname=name)
status.close()
"""


class SandboxUnavailable(DappError):
    code = "sandbox-unavailable"
    http_status = 503


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 60
    memory_bytes: int = 1 << 30  # address space of each process
    output_bytes: int = 64 << 20  # $OUTPUT in all, and each file written (stdout, stderr)
    wall_seconds: float = 120.0
    processes: int = 256  # processes and threads of the run
    scratch_bytes: int = 128 << 20  # the scratch folder (/tmp, a tmpfs: it counts as memory)


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


# -- who runs bwrap ------------------------------------------------------------------------------
_probes: dict[str, str | None] = {}  # "root"/"user" -> None when bwrap works, else why not
_probe_lock = threading.Lock()
_ids_in_use: set[int] = set()
_ids_lock = threading.Lock()


def runs_as_root() -> bool:
    return os.geteuid() == 0


def _take_identity() -> _Identity:
    with _ids_lock:
        while True:
            uid = SANDBOX_IDS[random.randrange(len(SANDBOX_IDS))]
            if uid not in _ids_in_use:
                _ids_in_use.add(uid)
                return _Identity(uid, uid)


def _release_identity(identity: _Identity) -> None:
    with _ids_lock:
        _ids_in_use.discard(identity.uid)


def _base_arguments() -> list[str]:
    arguments = [BWRAP, "--unshare-all", "--unshare-user", "--disable-userns",
                 "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"]
    for folder in HOST_FOLDERS:
        arguments += ["--ro-bind", folder, folder]
    for target, link in MERGED_USR_LINKS:
        if os.path.islink(link) or not os.path.exists(link):
            arguments += ["--symlink", target, link]
    return [*arguments, "--proc", "/proc", "--dev", "/dev"]


def isolation_problem(identity: _Identity | None) -> str | None:
    """None when bwrap runs here with every namespace unshared (checked once per kind of
    gateway), else what stops it."""
    kind = "root" if identity is not None else "user"
    with _probe_lock:
        if kind not in _probes:
            _probes[kind] = _probe(identity)
        return _probes[kind]


def require_sandbox() -> None:
    """SandboxUnavailable unless untrusted code can run here (the probe, once per kind of
    gateway): for callers that must know before they commit to a run (a metered call reserves
    the buyer's voucher only for a run that can start)."""
    identity = _take_identity() if runs_as_root() else None
    try:
        problem = isolation_problem(identity)
    finally:
        if identity is not None:
            _release_identity(identity)
    if problem is not None:
        raise _unavailable(problem)


def _unavailable(problem: str) -> SandboxUnavailable:
    return SandboxUnavailable(f"untrusted code is not run without its sandbox: {problem}",
                              hint="install bubblewrap (`make bubblewrap`) and allow user "
                                   "namespaces (sysctl user.max_user_namespaces > 0)")


def _probe(identity: _Identity | None) -> str | None:
    if not Path(SANDBOX_PYTHON).is_relative_to("/usr") or not os.path.exists(SANDBOX_PYTHON):
        return f"the sandbox's interpreter {SANDBOX_PYTHON} is not under /usr"
    try:
        probe = subprocess.run([*_base_arguments(), SANDBOX_PYTHON, "-I", "-S", "-c", "pass"],
                               capture_output=True, timeout=30, **_as(identity))
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"cannot start {BWRAP}: {error}"
    if probe.returncode != 0:
        return f"{BWRAP} fails here: {probe.stderr.decode(errors='replace').strip()[:300]}"
    return None


def _as(identity: _Identity | None) -> dict[str, object]:
    if identity is None:
        return {}
    return {"user": identity.uid, "group": identity.gid, "extra_groups": []}


# -- the data folder ----------------------------------------------------------------------------
def protect_data_dir(data_dir: Path) -> None:
    """Make the gateway's data folder 0700 when it is ours, so nothing in it (the gateway key,
    the keystore, the database, decrypted models) is open to the sandbox's uids even if a file
    inside was created with a loose mode (the sandbox does not mount it anyway)."""
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


def _stage(run_dir: Path, script: Path, inputs: dict[str, Path]) -> dict[str, Path]:
    """Copy the inputs under `run_dir/inputs/<NAME>/`, and the script under `.script` unless it
    lies inside one of them; returns the staged path of each."""
    staged_root = run_dir / "inputs"
    staged_root.mkdir(mode=0o755)
    staged: dict[str, Path] = {}
    for name, source in inputs.items():
        holder = staged_root / name
        holder.mkdir(mode=0o755)
        staged[name] = holder / source.name
        _readable_copy(source, staged[name])
    if not any(source.is_dir() and script.is_relative_to(source) for source in inputs.values()):
        holder = staged_root / ".script"
        holder.mkdir(mode=0o755)
        staged[".script"] = holder / script.name
        _readable_copy(script, staged[".script"])
    os.chmod(staged_root, 0o755)
    return staged


# -- limits ---------------------------------------------------------------------------------------
def _apply_limits(limits: SandboxLimits, processes: int) -> None:
    """Runs in the child between fork and exec (already as the run's uid when root)."""
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _process_allowance(limits: SandboxLimits, identity: _Identity | None) -> int:
    """RLIMIT_NPROC counts every process of the uid: the run's own uid as root; as an ordinary
    user, the gateway's processes too, so those are added to the allowance."""
    allowance = limits.processes + OVERHEAD_PROCESSES
    if identity is not None:
        return allowance
    uid = os.getuid()
    mine = 0
    for entry in os.scandir("/proc"):
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                mine += len(os.listdir(f"/proc/{entry.name}/task"))
    return allowance + mine


# -- staging (root gateway) ---------------------------------------------------------------------
def _work_parent() -> Path:
    parent = WORK_PARENT or Path(tempfile.gettempdir()) / "dapp-sandbox"
    with contextlib.suppress(FileExistsError):
        parent.mkdir(mode=0o711, parents=True)
    info = os.lstat(parent)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise SandboxUnavailable(f"{parent} is not a folder of the gateway's own",
                                 hint="remove it, or set dapp.compute.sandbox.WORK_PARENT")
    os.chmod(parent, 0o711)
    return parent


def _run_dir(identity: _Identity) -> Path:
    """The run's staging folder: only the gateway and the run's gid may enter it."""
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=_work_parent()))
    os.chown(run_dir, os.geteuid(), identity.gid)
    os.chmod(run_dir, 0o750)
    return run_dir


def _remove_run_dir(run_dir: Path) -> None:
    for folder, _dirs, _files in os.walk(run_dir):
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)
    shutil.rmtree(run_dir, ignore_errors=True)


# -- the run -------------------------------------------------------------------------------------
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
    if "No space left on device" in stderr:
        return "scratch space limit exceeded"
    if any(marker in stderr for marker in NETWORK_ERRORS):
        return f"network access denied (exited with code {exit_code})"
    if exit_code < 0:
        return f"killed by signal {signal.Signals(-exit_code).name}"
    return f"exited with code {exit_code}"


@dataclass(frozen=True)
class _Layout:
    """Where things are inside the sandbox, and what to bind there from the host."""

    script: Path
    binds: list[tuple[Path, Path]]  # (host path, path inside), read-only
    env: dict[str, str]


def _layout(script: Path, inputs: dict[str, Path], run_dir: Path | None) -> _Layout:
    """Inputs at /in/<NAME>/<name>: staged copies under `run_dir` (root gateway), else the
    gateway's own paths. The script maps into the input that holds it, else is bound alone."""
    sources = _stage(run_dir, script, inputs) if run_dir is not None else None
    binds: list[tuple[Path, Path]] = []
    env: dict[str, str] = {}
    script_inside: Path | None = None
    for name, source in inputs.items():
        inside = INPUTS_INSIDE / name / source.name
        binds.append((sources[name] if sources else source, inside))
        env[name] = str(inside)
        if script_inside is None and source.is_dir() and script.is_relative_to(source):
            script_inside = inside / script.relative_to(source)
    if script_inside is None:
        script_inside = INPUTS_INSIDE / ".script" / script.name
        binds.append((sources[".script"] if sources else script, script_inside))
    return _Layout(script_inside, binds, env)


def _command(layout: _Layout, limits: SandboxLimits, status_fd: int) -> list[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(SCRATCH_INSIDE), "LANG": "C.UTF-8",
           "OUTPUT": str(OUTPUT_INSIDE), **layout.env}
    command = [*_base_arguments(),
               "--size", str(limits.output_bytes), "--tmpfs", str(OUTPUT_INSIDE),
               "--size", str(limits.scratch_bytes), "--tmpfs", str(SCRATCH_INSIDE)]
    for source, inside in layout.binds:
        command += ["--ro-bind", str(source), str(inside)]
    for name, value in env.items():
        command += ["--setenv", name, value]
    return [*command, "--chdir", str(SCRATCH_INSIDE),
            SANDBOX_PYTHON, "-I", "-S", "-c", LAUNCHER, str(layout.script), str(status_fd)]


def run_python_in_sandbox(
    script: Path,
    workdir: Path,
    inputs: dict[str, Path],
    limits: SandboxLimits,
    stdin_bytes: bytes | None = None,
) -> SandboxResult:
    """Run `script` with `python -I` on `inputs` (read-only, passed as env vars: `INPUT`,
    `ALGORITHM`, `MODEL_DIR`... each naming its path inside); what the run leaves in `$OUTPUT`
    is unpacked into `workdir/output`, its stdout/stderr go to `workdir/stdout.log` /
    `stderr.log`. `workdir` is the caller's private folder: the run never sees it."""
    identity = _take_identity() if runs_as_root() else None
    run_dir: Path | None = None
    try:
        problem = isolation_problem(identity)
        if problem is not None:
            raise _unavailable(problem)
        output_dir = workdir / "output"
        output_dir.mkdir(parents=True, exist_ok=True)
        if identity is not None:
            run_dir = _run_dir(identity)
        layout = _layout(script, inputs, run_dir)
        return _run(layout, limits, identity, workdir, output_dir, stdin_bytes)
    finally:
        if run_dir is not None:
            _remove_run_dir(run_dir)
        if identity is not None:
            _release_identity(identity)


def _run(layout: _Layout, limits: SandboxLimits, identity: _Identity | None, workdir: Path,
         output_dir: Path, stdin_bytes: bytes | None) -> SandboxResult:
    status_read, status_write = os.pipe()
    collector = _Collector(status_read, limits.output_bytes * 2 + (1 << 20))
    processes = _process_allowance(limits, identity)
    started = time.monotonic()
    try:
        with (workdir / "stdout.log").open("wb") as stdout, \
                (workdir / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(
                _command(layout, limits, status_write), cwd="/", env={}, stdout=stdout,
                stderr=stderr, pass_fds=(status_write,), start_new_session=True,
                stdin=subprocess.PIPE if stdin_bytes is not None else subprocess.DEVNULL,
                preexec_fn=lambda: _apply_limits(limits, processes), **_as(identity))
        os.close(status_write)
        status_write = -1
        collector.start()
        timed_out = False
        try:
            process.communicate(stdin_bytes, timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            _end_namespace(process)
        wall = time.monotonic() - started
        collector.join()  # bwrap is gone, and with its init every process of the run
    finally:
        if status_write >= 0:
            os.close(status_write)
    stderr_tail = _tail(workdir / "stderr.log")
    status, output_full, stream = collector.result()
    exit_code = os.waitstatus_to_exitcode(status) if status is not None else process.returncode
    if timed_out:
        return SandboxResult(False, "wall time limit exceeded", exit_code, wall, output_dir,
                             stderr_tail)
    over = output_full or collector.overflowed or not _unpack(stream, output_dir, limits)
    if exit_code == 0 and not over:
        return SandboxResult(True, None, exit_code, wall, output_dir, stderr_tail)
    reason = ("output size limit exceeded" if over
              else _failure_reason(exit_code, stderr_tail, False))
    return SandboxResult(False, reason, exit_code, wall, output_dir, stderr_tail)


def _end_namespace(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the run's PID-namespace init (bwrap's child, found by the kernel's own list, so
    nothing the run wrote is trusted): the kernel kills every other process of the namespace
    before the init can be reaped. Then bwrap exits; without an init yet, bwrap is killed."""
    children: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        children = [int(pid) for pid in Path(
            f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
    for pid in children:
        with contextlib.suppress(OSError):
            handle = os.pidfd_open(pid)
            try:
                signal.pidfd_send_signal(handle, signal.SIGKILL)
            finally:
                os.close(handle)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class _Collector(threading.Thread):
    """Reads the launcher's status line and tar stream, keeping at most `cap` bytes."""

    def __init__(self, fd: int, cap: int) -> None:
        super().__init__(name="sandbox-output", daemon=True)
        self.fd = fd
        self.cap = cap
        self.spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115
        self.overflowed = False

    def run(self) -> None:
        size = 0
        try:
            while chunk := os.read(self.fd, 1 << 16):
                size += len(chunk)
                if size > self.cap:
                    self.overflowed = True
                    continue  # keep draining, so the launcher never blocks
                self.spool.write(chunk)
        finally:
            os.close(self.fd)

    def result(self) -> tuple[int | None, bool, io.BufferedIOBase | None]:
        """(the algorithm's wait status, whether $OUTPUT filled up, the tar stream); a run that
        ended before the launcher reported has no status and no output."""
        self.spool.seek(0)
        line = self.spool.readline(4096)
        try:
            header = json.loads(line)
            status, full = int(header["status"]), bool(header["output_full"])
        except (ValueError, KeyError, TypeError):
            return None, False, None
        return status, full, self.spool  # type: ignore[return-value]


def _unpack(stream: io.BufferedIOBase | None, target: Path, limits: SandboxLimits) -> bool:
    """Unpack regular files and folders only (no links, devices, absolute or `..` names) into
    `target`, which the gateway made and nothing else writes to; False when the files add up
    to more than the output limit (nothing of them is kept then)."""
    if stream is None:
        return True
    total = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                parts = _safe_parts(member.name)
                if parts is None or not (member.isreg() or member.isdir()) or member.issparse():
                    continue
                total += member.size
                if total > limits.output_bytes:
                    shutil.rmtree(target, ignore_errors=True)
                    target.mkdir()
                    return False
                destination = target.joinpath(*parts)
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    continue
                with contextlib.suppress(FileExistsError), open(os.open(
                        destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                        0o600), "wb") as out:
                    shutil.copyfileobj(source, out)
    except (tarfile.TarError, OSError) as error:
        log.warning("sandbox output: unreadable stream (%s)", error)
    return True


def _safe_parts(name: str) -> tuple[str, ...] | None:
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if name.startswith("/") or not parts or ".." in parts:
        return None
    return parts
