"""README.md's "Try it", run as a new user runs it: every line of the block between the
`try-it:begin` and `try-it:end` markers, in order, in one shell, against a fresh `datadao up`
(what `make up` runs). Each line must exit 0, the download must be the published files and the
job's result the demo algorithm's counts of the demo dataset."""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
import time
from pathlib import Path

from dapp.devstack.process import REPO_ROOT
from tests.dapp.helpers.up import start_up, stop_with_ctrl_c, up_env, up_ports, wait_for_banner

BEGIN, END = "<!-- try-it:begin -->", "<!-- try-it:end -->"


def try_it_commands(readme: str) -> list[str]:
    """The shell lines of the code block(s) between the markers (continuations joined)."""
    section = readme.split(BEGIN, 1)[1].split(END, 1)[0]
    lines: list[str] = []
    for block in re.findall(r"```(?:sh|bash)\n(.*?)```", section, flags=re.DOTALL):
        pending = ""
        for line in block.splitlines():
            pending += line
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            if pending.strip() and not pending.lstrip().startswith("#"):
                lines.append(pending)
            pending = ""
    return lines


def step_script(commands: list[str]) -> str:
    """One bash script: each step announced, the first one to fail stops it with its number."""
    out = ["set -o pipefail"]
    for number, command in enumerate(commands, 1):
        out.append(f"echo \"+++ step {number} at $(date +%s.%N)\" >&2")
        out.append(f"{command}\nstatus=$?; if [ $status -ne 0 ]; then "
                   f"echo \"step {number} exited $status\" >&2; exit 100; fi")
    return "\n".join(out) + "\n"


def test_readme_try_it_runs_top_to_bottom_against_up(tmp_path: Path) -> None:
    commands = try_it_commands((REPO_ROOT / "README.md").read_text())
    assert len(commands) >= 10 and any("datadao download" in c for c in commands), commands
    ports = up_ports()
    env = up_env(ports, tmp_path / "data")
    # The README's defaults are the stack's default ports; this stack runs on free ones.
    env["DAPP_CHAIN_RPC_URL"] = f"http://127.0.0.1:{ports['CHAIN']}"
    env["DAPP_IPFS_API_URL"] = f"http://127.0.0.1:{ports['IPFS_API']}"
    env["DAPP_IPFS_GATEWAY_URL"] = f"http://127.0.0.1:{ports['IPFS_GATEWAY']}"

    user = tmp_path / "user"  # a clean working directory with the repository's .venv in it
    user.mkdir()
    (user / ".venv").symlink_to(REPO_ROOT / ".venv")
    log = tmp_path / "up.log"
    started = time.monotonic()
    up = start_up(env, log)
    try:
        wait_for_banner(up, log)
        print(f"up: {time.monotonic() - started:.1f} s")
        result = subprocess.run(
            ["bash", "-c", step_script(commands)], cwd=user, capture_output=True, text=True,
            env={**_clean_env(), **env}, timeout=240)
    finally:
        stop_with_ctrl_c(up)
    assert result.returncode == 0, f"{result.stderr[-4000:]}\n{result.stdout[-2000:]}"

    with tarfile.open(user / "my-data.tar") as tar:
        downloaded = {m.name: tar.extractfile(m).read() for m in tar.getmembers()  # type: ignore[union-attr]
                      if m.isfile()}
    published = {p.name: p.read_bytes() for p in (user / "my-data").iterdir()}
    assert {Path(name).name: data for name, data in downloaded.items()} == published
    keystore = tmp_path / "data" / "keystore"  # the stack's provider key is not in it
    assert sorted(p.stem for p in keystore.glob("*.json")) == ["buyer", "seller"]
    counts = (user / "counts.txt").read_text()
    assert "weather.csv\t31 rows" in counts, counts  # a header and 30 days
    answers = [line for line in result.stdout.splitlines() if '"temperature_c"' in line]
    assert len(answers) == 2, result.stdout  # the paid call's answer and the routed one's
    assert '"day": 20' in answers[1] or '"day":20' in answers[1], answers


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DAPP_")}
