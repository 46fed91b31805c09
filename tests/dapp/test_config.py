"""dapp.config: DAPP_* variables, the optional TOML file, precedence and validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dapp.config import Settings


def test_embedded_defaults_are_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAPP_CONFIG_FILE", raising=False)
    settings = Settings()
    assert settings.chain_rpc_url == "http://127.0.0.1:8545"
    assert settings.resolved_deployments_file == Path(".data/deployments.json")
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_database_url.endswith("/.data/dapp.db")


def test_environment_overrides_file_and_file_overrides_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "dapp.toml"
    config.write_text('gateway_port = 9100\nchain_rpc_url = "http://10.0.0.1:8545"\n')
    monkeypatch.setenv("DAPP_CONFIG_FILE", str(config))
    monkeypatch.setenv("DAPP_GATEWAY_PORT", "9200")
    settings = Settings()
    assert settings.gateway_port == 9200  # env beats file
    assert settings.chain_rpc_url == "http://10.0.0.1:8545"  # file beats default
    assert Settings(gateway_port=9300).gateway_port == 9300  # code beats env


def test_missing_config_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPP_CONFIG_FILE", "/nonexistent/dapp.toml")
    with pytest.raises(FileNotFoundError, match="DAPP_CONFIG_FILE"):
        Settings()


def test_bad_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAPP_CONFIG_FILE", raising=False)
    monkeypatch.setenv("DAPP_GATEWAY_PORT", "70000")
    with pytest.raises(ValidationError, match=r"outside 1\.\.65535"):
        Settings()
    monkeypatch.setenv("DAPP_GATEWAY_PORT", "not-a-port")
    with pytest.raises(ValidationError):
        Settings()


def test_unknown_keys_in_the_file_are_rejected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "dapp.toml"
    config.write_text("gateway_prot = 1\n")
    monkeypatch.setenv("DAPP_CONFIG_FILE", str(config))
    with pytest.raises(ValidationError, match="gateway_prot"):
        Settings()


def test_nothing_outside_config_reads_the_environment() -> None:
    package = Path(__file__).resolve().parents[2] / "dapp"
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "config.py"
        and ("os.environ.get(" in path.read_text() or "os.getenv(" in path.read_text())
    ]
    assert offenders == []


def test_child_processes_get_the_real_secret_not_its_mask() -> None:
    from dapp.devstack.up import settings_env

    env = settings_env(Settings(keystore_password="s3cret-passw0rd", cors_origins=["http://a"]))
    assert env["DAPP_KEYSTORE_PASSWORD"] == "s3cret-passw0rd"
    assert env["DAPP_CORS_ORIGINS"] == '["http://a"]'
    assert Settings(**{k.removeprefix("DAPP_").lower(): v for k, v in env.items()
                       if not v.startswith("[")}  # lists: JSON, parsed from env only
                    ).keystore_password is not None
