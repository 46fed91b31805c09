"""Run Slither over contracts/ and fail on any high or medium finding not explained in
docs/SLITHER.md.

    python tools/slither_check.py            # exit 1 on an unexplained finding

Slither compiles through the repo's solcjs wrapper with standard JSON (the Brownie build
artifacts lack the re-exported OpenZeppelin interface files that crytic-compile looks up).
A finding is explained when docs/SLITHER.md has a table row whose first two cells are the
detector and the function it points at, e.g. `| divide-before-multiply | _distribute | ... |`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPLANATIONS = ROOT / "docs" / "SLITHER.md"
SOLC = ROOT / ".tools" / "solcx" / "solc-v0.8.28"
SERIOUS = {"High", "Medium"}
# crytic-compile's standard-JSON mode compiles the *.sol files directly in one directory.
TARGETS = ("contracts", "contracts/dao")


def run_slither() -> list[dict]:
    return [finding for target in TARGETS for finding in run_slither_on(target)]


def run_slither_on(target: str) -> list[dict]:
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}"}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "slither.json"
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "slither"), target,
                "--solc", str(SOLC), "--solc-standard-json",
                "--solc-remaps", "@openzeppelin/contracts=node_modules/@openzeppelin/contracts",
                "--solc-args", "--evm-version shanghai --optimize",
                "--filter-paths", "node_modules|contracts/test|contracts/dao/oz",
                "--json", str(report),
            ],
            cwd=ROOT, env=env, check=False, capture_output=True, text=True,
        )
        if not report.is_file():
            raise SystemExit(f"slither produced no report for {target}:\n{run.stderr[-4000:]}")
        data = json.loads(report.read_text())
    if not data.get("success"):
        raise SystemExit(f"slither failed: {data.get('error')}")
    return data["results"].get("detectors", [])


def explained() -> set[tuple[str, str]]:
    rows = re.findall(r"^\|\s*([\w-]+)\s*\|\s*`?([\w.]+)`?\s*\|", EXPLANATIONS.read_text(), re.M)
    return {(check, name) for check, name in rows}


def main() -> int:
    findings = run_slither()
    unique = {(f["check"], f["description"]): f for f in findings}
    findings = list(unique.values())
    known = explained()
    counts: dict[str, int] = {}
    unexplained = []
    for finding in findings:
        counts[finding["impact"]] = counts.get(finding["impact"], 0) + 1
        if finding["impact"] not in SERIOUS:
            continue
        name = finding["elements"][0].get("name", "") if finding["elements"] else ""
        if (finding["check"], name) not in known:
            unexplained.append(finding)
    print("slither findings by impact:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for finding in unexplained:
        print(f"UNEXPLAINED {finding['impact']} {finding['check']}: "
              f"{finding['description'].splitlines()[0]}")
    if unexplained:
        print(f"explain or fix them (table in {EXPLANATIONS.relative_to(ROOT)})")
        return 1
    print("no unexplained high or medium finding")
    return 0


if __name__ == "__main__":
    sys.exit(main())
