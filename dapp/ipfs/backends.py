"""The pin backend the settings name (`DAPP_PIN_BACKEND`), built once by the pinner."""

from __future__ import annotations

from dapp.config import Settings
from dapp.errors import InvalidInput
from dapp.ipfs.client import IpfsClient
from dapp.ipfs.cluster import ClusterPinBackend
from dapp.ipfs.pinning import KuboPinBackend, PinBackend
from dapp.ipfs.pinning_service import PinningServiceBackend


def pinning_service_token(settings: Settings) -> str:
    """The token from DAPP_PINNING_SERVICE_TOKEN, else from the file it names."""
    if settings.pinning_service_token is not None:
        return settings.pinning_service_token.get_secret_value()
    path = settings.pinning_service_token_file
    if path is None:
        return ""
    try:
        return path.read_text().strip()
    except OSError as error:
        raise InvalidInput(f"cannot read the pinning service token file {path}: "
                           f"{error.strerror}",
                           hint="check DAPP_PINNING_SERVICE_TOKEN_FILE") from error


def pin_backend(settings: Settings, ipfs: IpfsClient) -> PinBackend:
    if settings.pin_backend == "cluster":
        return ClusterPinBackend(settings.cluster_api_urls, settings.pin_replication_min,
                                 settings.pin_replication_max, settings.ipfs_timeout_seconds)
    if settings.pin_backend == "pinning-service":
        assert settings.pinning_service_url is not None  # the settings validate it
        return PinningServiceBackend(settings.pinning_service_url,
                                     pinning_service_token(settings),
                                     settings.ipfs_timeout_seconds)
    return KuboPinBackend(ipfs)
