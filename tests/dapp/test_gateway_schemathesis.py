"""schemathesis against the gateway's own OpenAPI document, over real HTTP: no generated
request (valid or not) may get a 5xx other than a documented 503, and responses must match
the schema's status codes and content types."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dapp.devstack.process import REPO_ROOT
from tests.dapp.conftest import Gateway, make_settings, start_gateway

SCHEMATHESIS = REPO_ROOT / ".venv-fuzz" / "bin" / "schemathesis"


@pytest.fixture(scope="module")
def gateway(chain, kubo, deployments_file: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    base = tmp_path_factory.mktemp("gateway-fuzz")
    settings = make_settings(base, chain, kubo, rate_limit_per_minute=1_000_000,
                             deployments_file=deployments_file)
    started = start_gateway(settings, base / "gateway.log")
    yield started
    started.process.stop()


def test_no_server_errors_from_generated_requests(gateway: Gateway, tmp_path: Path) -> None:
    assert SCHEMATHESIS.is_file(), "run `make fuzz-deps` (make test does)"
    # One worker: CPython 3.11's `ast.parse` is not thread-safe ("AST constructor recursion
    # depth mismatch"), and Hypothesis parses lambdas' source when it describes a strategy.
    result = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{gateway.url}/openapi.json",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance",
            "--max-examples", "60", "--seed", "20261125", "--workers", "1",
            "--report", "junit", "--report-dir", str(tmp_path), "--no-color",
        ],
        capture_output=True, text=True, timeout=600,
    )
    log = gateway.process.log_file.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
