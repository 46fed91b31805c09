"""The one configuration object. Nothing else in `dapp/` reads the environment.

Precedence (highest first): values passed in code, `DAPP_*` environment variables, the TOML
file named by `DAPP_CONFIG_FILE` (or passed as `config_file`), then the embedded defaults below,
which are the local stack that `make up` runs.
"""

from __future__ import annotations

import os
from functools import cached_property
from ipaddress import ip_address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "DAPP_"
CONFIG_FILE_VARIABLE = f"{ENV_PREFIX}CONFIG_FILE"
# The dev chain's well-known mnemonic (ganache/anvil test accounts); never for real funds.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


class Settings(BaseSettings):
    """Settings for the chain, IPFS, database, gateway and the local stack."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(Path(".data"), description="Chain DB, IPFS repo, SQLite, keys")

    # chain
    chain_rpc_url: str = "http://127.0.0.1:8545"
    chain_port: int = Field(8545, description="Port of the dev chain that `up` starts")
    chain_id: int = Field(1337, description="Chain id of the dev chain that `up` starts")
    deployments_file: Path | None = Field(
        None, description="Contract addresses per chain id; default <data_dir>/deployments.json"
    )
    confirmations: int = Field(0, ge=0, description="Blocks the indexer stays behind the head")
    public_rpc_url: str | None = Field(
        None, description="The RPC URL the gateway tells browsers (GET /v1/deployment); "
        "unset: chain_rpc_url (which may carry an API key) is told to operators only"
    )

    # accounts (publisher CLI)
    keystore_dir: Path | None = Field(None, description="Default <data_dir>/keystore")
    keystore_password: SecretStr | None = Field(
        None, description="Unlocks keystores without a prompt (scripts, CI); never logged"
    )
    account: str | None = Field(None, description="Default account (address or keystore name)")

    # IPFS (Kubo)
    ipfs_api_url: str = "http://127.0.0.1:5001"
    ipfs_gateway_url: str = "http://127.0.0.1:8080"
    ipfs_api_port: int = 5001
    ipfs_gateway_port: int = 8080
    ipfs_swarm_port: int = 4001
    ipfs_timeout_seconds: float = 30.0
    ipfs_read_sources: list[str] = Field(
        default_factory=list, description="IPFS nodes the gateway streams content from, in "
        "order: each a Kubo RPC URL, optionally with its HTTP gateway URL after a `|` "
        "(`http://10.0.0.2:5001|http://10.0.0.2:8080`); a node that fails before or during a "
        "stream is left for the next, which resumes at the byte reached. Empty: "
        "ipfs_api_url|ipfs_gateway_url, the one node"
    )
    max_content_bytes: int = Field(
        4 << 30, ge=1024, description="Largest content (its size as Kubo reports it, asked "
        "before any byte is read) the indexer pins and a compute job reads; larger is refused"
    )

    # database
    database_url: str | None = Field(None, description="Default sqlite:///<data_dir>/dapp.db")

    # gateway
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    gateway_public_url: str | None = Field(None, description="Default http://host:port")
    cors_origins: list[str] = Field(default_factory=list)
    log_level: str = "INFO"
    rate_limit_per_minute: int = Field(600, ge=1, description="Requests per account (or IP)")
    max_request_bytes: int = Field(1 << 20, ge=1024, description="Largest request body accepted")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Reverse proxies (IPs or CIDR networks) whose "
        "X-Forwarded-For the gateway believes; from any other peer the header is ignored"
    )
    operator_token: SecretStr | None = Field(
        None, description="Shows /healthz details, /metrics and 5xx causes to a request with "
        "`Authorization: Bearer <token>` or `X-DataDAO-Operator-Token: <token>`"
    )
    operator_loopback: bool = Field(
        True, description="Treat loopback peers (not relayed by a trusted proxy) as operators"
    )
    nonce_lifetime_seconds: int = Field(300, ge=1, description="How long a sign-in nonce lives")
    nonce_max_per_client: int = Field(
        32, ge=1, description="Unused, unexpired sign-in nonces one client address may hold"
    )
    nonce_max_outstanding: int = Field(
        100_000, ge=1, description="Unused, unexpired sign-in nonces in total (then 503)"
    )
    max_streams_per_account: int = Field(
        16, ge=1, description="Concurrent content downloads one account may hold open"
    )
    upload_max_bytes: int = Field(
        1 << 30, ge=1024, description="Largest encrypted content one upload (POST /v1/uploads, "
        "the dApp's publish page) may have"
    )
    upload_max_open: int = Field(4, ge=1, description="Unfinished uploads one account may hold")
    upload_max_open_bytes: int = Field(
        2 << 30, ge=1024, description="Bytes the unfinished uploads of one account may add up to"
    )
    upload_max_bytes_per_day: int = Field(
        8 << 30, ge=1024, description="Bytes one account may start uploading in 24 hours "
        "(completed uploads stay pinned: this bounds how fast an account fills the node)"
    )
    upload_idle_seconds: float = Field(
        3600.0, gt=0, description="An upload untouched this long is dropped with its bytes"
    )
    catalog_peer_timeout_seconds: float = Field(
        2.0, gt=0, description="How long `GET /v1/models?task=` waits for another provider's "
        "gateway to say its key (`GET /v1/gateway`); one that does not answer is listed as "
        "unreachable"
    )
    catalog_peer_key_seconds: float = Field(
        600.0, ge=0, description="How long a provider gateway's key, once read, is reused"
    )

    # compute provider (the gateway's own on-chain account in the ComputeMarket)
    provider_account: str | None = Field(
        None, description="Keystore account (name or address) the gateway acts as provider "
        "with; its password is keystore_password. None: no compute, no metered calls"
    )
    compute_poll_seconds: float = Field(1.0, gt=0, description="Pause between job scans")
    compute_cpu_seconds: int = Field(30, ge=1, description="CPU time limit of one job")
    compute_memory_mb: int = Field(512, ge=16, description="Address-space limit of one job")
    compute_wall_seconds: float = Field(120.0, gt=0, description="Wall-clock limit of one job")
    compute_output_mb: int = Field(64, ge=1, description="Largest result of one job")
    compute_accept_margin_seconds: float = Field(
        60.0, ge=0, description="Time a job needs beyond the wall-clock limit (inputs, "
        "publishing, posting the result): a job due sooner than wall limit + margin is "
        "declined, not accepted"
    )
    compute_workers: int = Field(
        2, ge=1, description="Compute jobs that run at once (each accepted only when a worker "
        "is free to start it)"
    )
    compute_jobs_per_buyer: int = Field(
        1, ge=1, description="Compute jobs of one buyer that run at once: a buyer's slow jobs "
        "cannot hold every worker"
    )
    compute_ray_address: str | None = Field(
        None, description="Ray cluster (GCS address host:port, as `ray start --head` prints "
        "it) to run compute jobs on, each in the sandbox on its node; None: on this machine"
    )
    compute_ray_retries: int = Field(
        2, ge=0, description="Times Ray runs a job again on another node when its node is "
        "lost mid-run (then the job is declined and the buyer refunded)"
    )
    model_workers: int = Field(
        4, ge=1, description="Metered model calls that run at once, on threads of their own "
        "(never the ones sign-in, the catalog and downloads use)"
    )
    model_queue_seconds: float = Field(
        2.0, ge=0, description="How long a metered call waits for a free model worker before "
        "it is answered 503 with Retry-After"
    )
    model_warm: bool = Field(
        True, description="Serve models that define handle(body) from warm sandboxed workers "
        "(loaded once, per model and buyer); False: every call starts a fresh sandbox"
    )
    model_warm_workers: int = Field(
        8, ge=1, description="Warm model workers alive at once (at least model_workers); "
        "beyond it the least recently used idle one is closed"
    )
    model_idle_seconds: float = Field(
        60.0, gt=0, description="A warm model worker idle this long is closed"
    )
    model_call_seconds: float = Field(
        30.0, gt=0, description="Time limit of one call to a warm model worker: a call over "
        "it kills the worker and fails (charged)"
    )
    model_stream_max_chunks: int = Field(
        1000, ge=1, description="Most chunks one streamed call delivers (a buyer may ask for "
        "fewer); the stream then ends with end=max-chunks"
    )
    model_stream_credit: int = Field(
        1, ge=1, description="Chunks of a stream delivered ahead of the buyer's vouchers for "
        "them: the most a stream can leave unpaid"
    )
    model_stream_pay_seconds: float = Field(
        10.0, gt=0, description="How long a stream waits for the voucher of a delivered chunk "
        "before it ends with end=unpaid"
    )
    invoke_price: int = Field(
        10**16, ge=0, description="Price of one metered model call, in the channel token's "
        "base units"
    )
    voucher_batch_size: int = Field(50, ge=1, description="Redeem once this many are pending")
    voucher_batch_age_seconds: float = Field(
        300.0, gt=0, description="Redeem when the oldest pending voucher is this old"
    )

    # indexer (confirmations: see `chain`)
    indexer_contracts: list[str] | None = Field(
        None, description="Deployed contracts to follow; default: every one that has handlers"
    )
    indexer_poll_seconds: float = Field(
        1.0, gt=0, description="Pause between sync rounds (the longest one while new heads "
        "arrive by subscription)"
    )
    chain_ws_url: str | None = Field(
        None, description="WebSocket endpoint the indexer subscribes to new heads at; default "
        "chain_rpc_url as ws:// (ganache and anvil serve both on one port); `off`: poll only"
    )
    indexer_max_range: int = Field(2000, ge=1, description="Most blocks per eth_getLogs")
    indexer_max_logs: int = Field(
        10_000, ge=1, description="More logs than this in one query: the range is halved"
    )
    indexer_reorg_window: int = Field(
        128, ge=1, description="Blocks of hashes (and undo journal) kept to survive a reorg"
    )
    pin_retry_base_seconds: float = Field(2.0, gt=0, description="First retry delay of a pin")
    pin_retry_max_seconds: float = Field(600.0, gt=0, description="Longest pin retry delay")
    metadata_max_bytes: int = Field(1 << 20, ge=1024, description="Largest metadata JSON read")

    # where the indexer's pins go (dapp.ipfs.pinning): the local Kubo, an IPFS Cluster, or an
    # IPFS Pinning Service API endpoint
    pin_backend: Literal["kubo", "cluster", "pinning-service"] = Field(
        "kubo", description="kubo: the local node (ipfs_api_url); cluster: cluster_api_urls; "
        "pinning-service: pinning_service_url with its token"
    )
    cluster_api_urls: list[str] = Field(
        default_factory=list, description="IPFS Cluster REST API URLs (peers of one Cluster, "
        "e.g. http://127.0.0.1:9094): a request goes to the first that answers"
    )
    cluster_api_credentials: SecretStr | None = Field(
        None, description="USER:PASSWORD for the Cluster REST API's basic authentication "
        "(`basic_auth_credentials` in its service.json); never logged"
    )
    cluster_api_credentials_file: Path | None = Field(
        None, description="A file holding USER:PASSWORD (read when the pinner starts)"
    )
    pin_replication_min: int | None = Field(
        None, ge=1, description="Cluster peers that must hold each pin; None: the Cluster's own"
    )
    pin_replication_max: int | None = Field(
        None, ge=1, description="Cluster peers that may hold each pin; None: the Cluster's own"
    )
    pinning_service_url: str | None = Field(
        None, description="IPFS Pinning Service API endpoint (the URL /pins hangs off)"
    )
    pinning_service_token: SecretStr | None = Field(
        None, description="Its bearer token; never logged"
    )
    pinning_service_token_file: Path | None = Field(
        None, description="A file holding the token (read when the pinner starts)"
    )
    pin_check_seconds: float = Field(
        30.0, gt=0, description="Pause between checks of every pin's state per peer (a lost "
        "or failed copy is repaired)"
    )

    @field_validator("chain_port", "ipfs_api_port", "ipfs_gateway_port", "ipfs_swarm_port",
                     "gateway_port")
    @classmethod
    def _port_in_range(cls, port: int) -> int:
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} is outside 1..65535")
        return port

    @field_validator("ipfs_read_sources")
    @classmethod
    def _sources_are_urls(cls, sources: list[str]) -> list[str]:
        for source in sources:
            if not all(part.strip().startswith(("http://", "https://"))
                       for part in source.split("|")) or source.count("|") > 1:
                raise ValueError(f"IPFS source {source!r} is not RPC_URL or "
                                 "RPC_URL|GATEWAY_URL (http or https URLs)")
        return sources

    @model_validator(mode="after")
    def _pin_backend_configured(self) -> Settings:
        low, high = self.pin_replication_min, self.pin_replication_max
        if low is not None and high is not None and low > high:
            raise ValueError(f"pin_replication_min ({low}) is above pin_replication_max "
                             f"({high})")
        if self.pin_backend == "cluster" and not self.cluster_api_urls:
            raise ValueError("pin_backend=cluster needs cluster_api_urls "
                             "(DAPP_CLUSTER_API_URLS='[\"http://127.0.0.1:9094\"]')")
        if self.cluster_api_credentials is not None or self.cluster_api_credentials_file:
            in_clear = [url for url in self.cluster_api_urls if not _private_link(url)]
            if in_clear:
                raise ValueError(f"cluster_api_credentials would cross the network in clear "
                                 f"to {in_clear[0]}: use https, or a loopback address")
        if self.pin_backend == "pinning-service" and not (
                self.pinning_service_url
                and (self.pinning_service_token or self.pinning_service_token_file)):
            raise ValueError("pin_backend=pinning-service needs pinning_service_url and "
                             "pinning_service_token or pinning_service_token_file")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_VARIABLE)
        if config_file:
            path = Path(config_file)
            if not path.is_file():
                raise FileNotFoundError(f"{CONFIG_FILE_VARIABLE}={config_file}: no such file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @cached_property
    def resolved_deployments_file(self) -> Path:
        return self.deployments_file or self.data_dir / "deployments.json"

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'dapp.db').resolve()}"

    @cached_property
    def resolved_gateway_public_url(self) -> str:
        return self.gateway_public_url or f"http://{self.gateway_host}:{self.gateway_port}"

    @property
    def resolved_ipfs_read_sources(self) -> list[str]:
        """Where the gateway streams content from: the configured list, else the one node."""
        return self.ipfs_read_sources or [f"{self.ipfs_api_url}|{self.ipfs_gateway_url}"]

    @property
    def resolved_keystore_dir(self) -> Path:
        return self.keystore_dir or self.data_dir / "keystore"

    @property
    def chain_data_dir(self) -> Path:
        return self.data_dir / "chain"

    @property
    def ipfs_repo_dir(self) -> Path:
        return self.data_dir / "ipfs"

    @property
    def gateway_key_file(self) -> Path:
        return self.data_dir / "keys" / "gateway-x25519.key"

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with some fields replaced and validated (settings are immutable)."""
        return type(self).model_validate({**self.model_dump(), **overrides})


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once at a program's entry point; pass the object down from there."""
    return Settings(**overrides)


def _private_link(url: str) -> bool:
    """Whether a secret sent to `url` stays off the network in clear: https, or loopback."""
    parsed = urlsplit(url)
    if parsed.scheme == "https":
        return True
    host = parsed.hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
