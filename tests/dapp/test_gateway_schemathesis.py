"""schemathesis against the gateway's own OpenAPI document, over real HTTP: no generated
request (valid or not) may get a 5xx other than a documented 503, and responses must match
the schema's status codes and content types.

`make test` runs the short mode: 60 examples per operation on SQLite. `make fuzz-api` sets
`FUZZ_API_EXAMPLES` (examples per operation) and runs the long mode: the same checks on a
gateway over SQLite and one over PostgreSQL, reporting how many requests each run generated
(docs/TOOLCHAIN.md records a run). After each run the gateway still answers /healthz."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dapp.devstack.process import REPO_ROOT
from tests.dapp.conftest import Gateway, make_settings, start_gateway

SCHEMATHESIS = REPO_ROOT / ".venv-fuzz" / "bin" / "schemathesis"


LONG_EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "0"))
BACKENDS = ["sqlite", "postgresql"] if LONG_EXAMPLES else ["sqlite"]


@pytest.fixture(scope="module", params=BACKENDS)
def gateway(request: pytest.FixtureRequest, chain, kubo, deployments_file: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp(f"gateway-fuzz-{request.param}")
    database = {}
    if request.param == "postgresql":
        postgres = request.getfixturevalue("postgres")
        database = {"database_url": postgres.create_database("gateway_fuzz")}
    settings = make_settings(base, chain, kubo, rate_limit_per_minute=1_000_000,
                             deployments_file=deployments_file, **database)
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


def test_no_server_errors_from_generated_requests(gateway: Gateway, tmp_path: Path) -> None:
    assert SCHEMATHESIS.is_file(), "run `make fuzz-deps` (make test does)"
    examples = LONG_EXAMPLES or 60
    # One worker: CPython 3.11's `ast.parse` is not thread-safe ("AST constructor recursion
    # depth mismatch"), and Hypothesis parses lambdas' source when it describes a strategy.
    started = time.monotonic()
    result = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{gateway.url}/openapi.json",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance",
            "--max-examples", str(examples), "--seed", "20261125", "--workers", "1",
            "--report", "junit", "--report-dir", str(tmp_path), "--no-color",
        ],
        capture_output=True, text=True, timeout=600 if not LONG_EXAMPLES else 7200,
    )
    elapsed = time.monotonic() - started
    generated = re.findall(r"(\d+) generated", result.stdout)
    print(f"schemathesis on {gateway.settings.resolved_database_url.split(':')[0]}: "
          f"{generated[-1] if generated else '?'} test cases in {elapsed:.0f} s, "
          f"exit {result.returncode}")
    print(result.stdout[-1500:])
    log = gateway.process.log_file.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert httpx.get(f"{gateway.url}/healthz", timeout=10).status_code == 200
