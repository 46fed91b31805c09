"""The pin backend the settings name (`DAPP_PIN_BACKEND`), built once by the pinner."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from dapp.config import Settings
from dapp.errors import InvalidInput
from dapp.ipfs.client import IpfsClient
from dapp.ipfs.cluster import ClusterPinBackend
from dapp.ipfs.pinning import KuboPinBackend, PinBackend
from dapp.ipfs.pinning_service import PinningServiceBackend


def _secret(value: SecretStr | None, path: Path | None, what: str, variable: str) -> str:
    """The secret given in the settings, else read from the file they name ("": neither)."""
    if value is not None:
        return value.get_secret_value()
    if path is None:
        return ""
    try:
        return path.read_text().strip()
    except OSError as error:
        raise InvalidInput(f"cannot read the {what} file {path}: {error.strerror}",
                           hint=f"check {variable}") from error


def pinning_service_token(settings: Settings) -> str:
    """The token from DAPP_PINNING_SERVICE_TOKEN, else from the file it names."""
    return _secret(settings.pinning_service_token, settings.pinning_service_token_file,
                   "pinning service token", "DAPP_PINNING_SERVICE_TOKEN_FILE")


def cluster_credentials(settings: Settings) -> tuple[str, str] | None:
    """(user, password) for the Cluster REST API, from DAPP_CLUSTER_API_CREDENTIALS or the
    file DAPP_CLUSTER_API_CREDENTIALS_FILE names (None: no authentication)."""
    text = _secret(settings.cluster_api_credentials, settings.cluster_api_credentials_file,
                   "Cluster API credentials", "DAPP_CLUSTER_API_CREDENTIALS_FILE")
    if not text:
        return None
    user, colon, password = text.partition(":")
    if not (user and colon and password):
        raise InvalidInput("the Cluster API credentials are not USER:PASSWORD",
                           hint="set DAPP_CLUSTER_API_CREDENTIALS (or its _FILE) to the "
                                "user and password of the Cluster's basic_auth_credentials")
    return user, password


def pin_backend(settings: Settings, ipfs: IpfsClient) -> PinBackend:
    if settings.pin_backend == "cluster":
        return ClusterPinBackend(settings.cluster_api_urls, settings.pin_replication_min,
                                 settings.pin_replication_max, settings.ipfs_timeout_seconds,
                                 credentials=cluster_credentials(settings))
    if settings.pin_backend == "pinning-service":
        assert settings.pinning_service_url is not None  # the settings validate it
        return PinningServiceBackend(settings.pinning_service_url,
                                     pinning_service_token(settings),
                                     settings.ipfs_timeout_seconds)
    return KuboPinBackend(ipfs)
