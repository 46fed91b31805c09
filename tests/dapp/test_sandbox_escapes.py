"""Escapes from the compute sandbox, each tried by hostile code inside a run, with the gateway
as root and as an ordinary user (`nobody`, through `setpriv`). Every attack must fail, and the
run be reported as failed or succeeded honestly. The findings of the audit (issue 14) are
named in the tests; docs/SECURITY.md "Compute sandbox" lists them."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dapp.compute import sandbox
from dapp.compute.sandbox import SandboxLimits, SandboxUnavailable, run_python_in_sandbox
from tests.dapp.helpers.sandbox import SECRETS, Gateway, _processes_with

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the tests switch to an ordinary user: run as root")


@pytest.fixture(params=["root", "user"])
def gateway(request: pytest.FixtureRequest) -> Iterator[Gateway]:
    home = Gateway(request.param)
    yield home
    home.close()


def assert_no_secret(gateway: Gateway, text: str) -> None:
    for secret in [*SECRETS.values(), "SECRET-ENV", "SECRET-WEIGHTS"]:
        assert secret not in text
    assert gateway.secrets_intact()


# -- finding 1: result collection follows a swapped symlink ----------------------------------
def test_symlink_swapped_during_collection_leaks_nothing(gateway: Gateway) -> None:
    """A leftover process swaps each output folder for a link to the data folder while the
    gateway collects: the collected result holds only what the run wrote."""
    outcome = gateway.run(f"""
        import ctypes, os, time
        libc = ctypes.CDLL(None, use_errno=True)
        out = os.environ["OUTPUT"]
        target = {str(gateway.data_dir)!r}
        for i in range(100):
            d = os.path.join(out, f"d{{i:03}}")
            os.mkdir(d)
            for name in ("gateway-x25519.key", "dapp.db"):  # the names the target folder holds
                open(os.path.join(d, name), "w").write("decoy")
            os.symlink(target, d + ".link")
        if os.fork() == 0:
            os.setsid()
            if os.fork():
                os._exit(0)
            end = time.time() + 8
            while time.time() < end:  # atomically exchange each folder with its link, again
                for i in range(100):
                    d = os.path.join(out, f"d{{i:03}}").encode()
                    libc.renameat2(-100, d, -100, d + b".link", 2)  # RENAME_EXCHANGE
            os._exit(0)
        time.sleep(0.3)
    """)
    assert_no_secret(gateway, outcome.everything())
    assert set(outcome.outputs.values()) <= {"decoy"}


# -- finding 2: staged inputs readable by other runs; files left in /run/lock ---------------
def test_another_runs_inputs_are_out_of_reach(gateway: Gateway) -> None:
    weights = gateway.file("weights.bin", "SECRET-WEIGHTS")
    victim: dict[str, object] = {}

    def run_victim() -> None:
        victim["outcome"] = gateway.run("import time; time.sleep(5)", {"MODEL_DIR": weights})

    thread = threading.Thread(target=run_victim)
    thread.start()
    try:
        time.sleep(1.5)  # the victim's inputs are staged
        outcome = gateway.run(f"""
            import glob, os
            for pattern in ("/tmp/dapp-sandbox-*/**", "/var/tmp/dapp-*/**", "/dev/shm/**",
                            "/run/lock/**", {str(gateway.home)!r} + "/**"):
                for path in glob.glob(pattern, recursive=True):
                    try:
                        text = open(path, errors="replace").read(1000)
                    except OSError:
                        continue
                    if "SECRET" in text:
                        print(path, text)
        """, limits={"cpu_seconds": 20, "memory_bytes": 512 << 20, "output_bytes": 1 << 20,
                     "wall_seconds": 30})
    finally:
        thread.join()
    assert outcome.succeeded, outcome.stderr
    assert_no_secret(gateway, outcome.everything())


def test_files_left_in_run_lock_do_not_survive(gateway: Gateway) -> None:
    marker = f"dapp-escape-{uuid.uuid4().hex}"
    gateway.run(f"""
        for folder in ("/run/lock", "/var/tmp", "/tmp", "/dev/shm"):
            try:
                open(folder + "/{marker}", "w").write("left behind")
            except OSError:
                pass
    """)
    left = [folder for folder in ("/run/lock", "/var/tmp", "/tmp", "/dev/shm")
            if Path(folder, marker).exists()]
    for folder in left:
        Path(folder, marker).unlink()
    assert left == []


# -- finding 3: the gateway's own secrets, /proc and processes -------------------------------
def test_gateway_key_keystore_and_database_are_out_of_reach(gateway: Gateway) -> None:
    outcome = gateway.run(f"""
        import os
        data = {str(gateway.data_dir)!r}
        for name in {sorted(SECRETS)!r}:
            path = os.path.join(data, name)
            try:
                print(open(path).read())
            except OSError as error:
                print("denied", error.errno)
            try:
                open(path, "w").write("overwritten")
            except OSError as error:
                print("denied", error.errno)
    """)
    assert_no_secret(gateway, outcome.everything())
    assert "overwritten" not in outcome.everything()


def test_proc_shows_neither_the_host_nor_the_gateway(gateway: Gateway,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPP_KEYSTORE_PASSWORD", "SECRET-ENV")
    gateway_pid = os.getpid()
    outcome = gateway.run(f"""
        import os
        seen = []
        for path in ("/proc/1/environ", "/proc/{gateway_pid}/environ",
                     "/proc/{gateway_pid}/cmdline", "/proc/1/cmdline"):
            try:
                seen.append(path + "=" + open(path, "rb").read().decode(errors="replace"))
            except OSError:
                pass
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        print(seen)
        print("pids", len(pids), max(pids))
        print("gateway visible", os.path.exists("/proc/{gateway_pid}"))
    """)
    assert outcome.succeeded, outcome.stderr
    assert_no_secret(gateway, outcome.everything())
    assert "gateway visible False" in outcome.stdout
    assert "pytest" not in outcome.stdout and "init" not in outcome.stdout.split("pids")[0]
    count = int(outcome.stdout.split("pids ")[1].split()[0])
    assert count < 10  # its own processes only


def test_process_left_behind_is_killed(gateway: Gateway) -> None:
    marker = f"dapp-left-{uuid.uuid4().hex}"
    outcome = gateway.run(f"""
        import os
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv("/usr/bin/python3", ["python3", "-c", "import time; time.sleep(60)",
                                              "{marker}"])
            os._exit(0)
        os.wait()
    """)
    assert outcome.succeeded, outcome.stderr
    deadline = time.monotonic() + 5
    while (alive := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:
        os.kill(pid, 9)
    assert alive == []


# -- warm model workers (issue 17) -------------------------------------------------------------
REPLAYING_MODEL = """
    seen = []

    def handle(body):
        seen.append(body.decode())
        return "|".join(seen)
"""


def test_warm_model_replaying_inputs_never_answers_another_buyer_with_them(
        gateway: Gateway) -> None:
    """A model that keeps every input and returns them all: buyer A's input comes back to A
    (the worker is warm) and never to B, served by the same pool right after."""
    result = gateway.warm(REPLAYING_MODEL, [["0xA", "A-SECRET-1"], ["0xA", "a2"],
                                            ["0xB", "b1"], ["0xB", "b2"]])
    answers = result["answers"]
    assert answers[1] == "A-SECRET-1|a2"
    assert answers[2:] == ["b1", "b1|b2"]
    assert result["live"] == 0


def test_warm_worker_process_left_behind_after_eviction_is_killed(gateway: Gateway) -> None:
    """The model starts a process of its own (new session, double fork) from `handle`; when
    its idle worker is evicted, that process is gone too."""
    marker = f"dapp-warm-left-{uuid.uuid4().hex}"
    result = gateway.warm(f"""
        import os

        def handle(body):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv("/usr/bin/python3", ["python3", "-c", "import time; time.sleep(60)",
                                                  "{marker}"])
                os._exit(0)
            os.wait()
            return "started"
    """, [["0xA", "go"]], marker=marker)
    assert result["answers"] == ["started"]
    assert result["before"] == 1
    alive = _processes_with(marker)
    for pid in alive:
        os.kill(pid, 9)
    assert result["after"] == [] and alive == []


# -- the network, forks and the disk -----------------------------------------------------------
def _host_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only the route is looked up
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def test_no_network_address_is_reachable(gateway: Gateway) -> None:
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        port = listener.getsockname()[1]
        outcome = gateway.run(f"""
            import socket
            reached = []
            for host in ("127.0.0.1", {_host_address()!r}, "1.1.1.1"):
                s = socket.socket(); s.settimeout(2)
                if s.connect_ex((host, {port} if host != "1.1.1.1" else 53)) == 0:
                    reached.append(host)
            try:
                socket.getaddrinfo("example.com", 443)
                reached.append("dns")
            except OSError:
                pass
            print("reached", reached)
        """)
    assert outcome.succeeded, outcome.stderr
    assert "reached []" in outcome.stdout


def test_fork_bomb_is_capped(gateway: Gateway) -> None:
    outcome = gateway.run("""
        import os, time
        forked = 0
        for _ in range(300):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(60)  # alive past the loop: the cap is on processes at once
                os._exit(0)
            forked += 1
        print("forked", forked, flush=True)
    """, limits={"cpu_seconds": 10, "memory_bytes": 512 << 20, "output_bytes": 1 << 20,
                 "wall_seconds": 30, "processes": 32})
    assert outcome.succeeded, outcome.stderr
    assert int(outcome.stdout.split("forked ")[1].split()[0]) <= 32


def test_filling_the_disk_stops_at_the_limits(gateway: Gateway) -> None:
    """$OUTPUT and the scratch folder take at most their limits, then the writes fail; the run
    is reported as over the output limit."""
    outcome = gateway.run("""
        import os
        written = {}
        for place in (os.environ["OUTPUT"], os.getcwd()):
            written[place] = 0
            for i in range(200):
                try:
                    with open(os.path.join(place, f"fill{i}"), "wb") as f:
                        f.write(b"x" * 1_000_000)
                except OSError:
                    break
                written[place] += 1_000_000
        print("written", list(written.values()), flush=True)
    """)
    assert not outcome.succeeded
    assert outcome.reason == "output size limit exceeded"
    output_written, scratch_written = eval(outcome.stdout.split("written ")[1])
    assert output_written <= 1 << 20
    assert scratch_written <= SandboxLimits().scratch_bytes  # type: ignore[attr-defined]


# -- no isolation, no run ----------------------------------------------------------------------
def test_refuses_to_run_when_it_cannot_isolate(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "BWRAP", str(tmp_path / "no-bwrap"))
    monkeypatch.setattr(sandbox, "_probes", {})
    script = tmp_path / "algorithm.py"
    script.write_text("print('ran')")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(SandboxUnavailable):
        run_python_in_sandbox(script, work, {}, SandboxLimits())
    assert not (work / "stdout.log").exists() or "ran" not in (work / "stdout.log").read_text()


def test_ordinary_user_gateway_isolates_or_refuses() -> None:
    """On this kernel an ordinary user may create the namespaces bwrap needs: the sandbox runs
    (the other tests cover what it isolates). Where it may not, the refusal above applies."""
    probe = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/bwrap",
         "--unshare-all", "--unshare-user", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib64",
         "/lib64", "--symlink", "usr/lib", "/lib", "/usr/bin/true"], capture_output=True)
    assert probe.returncode == 0, probe.stderr


# -- finding 4: a sparse member in a small model archive ----------------------------------------
def test_sparse_model_archive_is_refused(tmp_path: Path) -> None:
    from dapp.gateway.metered.models import MAX_MODEL_BYTES, InvalidModel, _extract

    sparse = tmp_path / "src" / "weights.bin"
    sparse.parent.mkdir()
    (sparse.parent / "model.py").write_text("print('hi')")
    with sparse.open("wb") as handle:
        handle.truncate(MAX_MODEL_BYTES + (16 << 20))
    archive = tmp_path / "model.tar"
    subprocess.run(["tar", "--sparse", "-cf", str(archive), "-C", str(sparse.parent), "."],
                   check=True)
    assert archive.stat().st_size < 64 << 10
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(InvalidModel):
        _extract(archive, into)
    assert not (into / "weights.bin").exists()


def test_model_archive_over_the_unpacked_cap_is_refused(tmp_path: Path) -> None:
    from dapp.gateway.metered import models
    from dapp.gateway.metered.models import InvalidModel, _extract

    archive = tmp_path / "model.tar"
    with tarfile.open(archive, "w") as tar:
        for name in ("model.py", "a.bin", "b.bin"):
            info = tarfile.TarInfo(name)
            info.size = 600
            tar.addfile(info, io.BytesIO(b"x" * 600))
    into = tmp_path / "into"
    into.mkdir()
    original = models.MAX_MODEL_BYTES
    try:
        models.MAX_MODEL_BYTES = 1000
        with pytest.raises(InvalidModel):
            _extract(archive, into)
    finally:
        models.MAX_MODEL_BYTES = original
    assert not (into / "b.bin").exists()
