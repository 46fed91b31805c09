"""The error hierarchy raised by the core. The gateway maps it to problem+json once, the CLI
to one line and an exit code once; nothing else formats errors for people."""

from __future__ import annotations

from typing import Any


class DappError(Exception):
    """Base of every error the core raises on purpose."""

    #: short machine-readable name, used as the problem type and in logs
    code: str = "error"
    #: HTTP status the gateway answers with
    http_status: int = 500
    #: process exit code the CLI ends with
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None,
                 details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: what to do next, in words any client can act on (the CLI may say it in its flags)
        self.hint = hint
        #: machine-readable facts about the failure (problem+json members, `--json` fields)
        self.details: dict[str, Any] = details or {}
        #: HTTP headers the answer must carry (Retry-After, Content-Range)
        self.headers: dict[str, str] = headers or {}

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ServiceUnavailable(DappError):
    code = "service-unavailable"
    http_status = 503
    exit_code = 3


class ChainUnavailable(ServiceUnavailable):
    code = "chain-unavailable"


class IpfsUnavailable(ServiceUnavailable):
    code = "ipfs-unavailable"


class PinBackendUnavailable(IpfsUnavailable):
    """The configured pin backend (an IPFS Cluster, a pinning service) did not answer, or
    refused every request (a bad token): every pin would fail the same way, so a pin round
    stops at it and the pins are tried again later."""

    code = "pin-backend-unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    code = "database-unavailable"


class InvalidInput(DappError):
    code = "invalid-input"
    http_status = 400
    exit_code = 2


class MalformedCid(InvalidInput):
    code = "malformed-cid"


class AccountNeeded(InvalidInput):
    """A call that signs (a transaction, a voucher, a sign-in) was made without an account."""

    code = "account-needed"

    def __init__(self, message: str, *, hint: str | None = "give an account to sign with",
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message, hint=hint, details=details)


class NotFound(DappError):
    code = "not-found"
    http_status = 404
    exit_code = 4


class UnknownAsset(NotFound):
    """No asset has this id (the registry's `UnknownAsset` revert, or a lookup that found none)."""

    code = "unknown-asset"


class NotAuthenticated(DappError):
    code = "not-authenticated"
    http_status = 401
    exit_code = 5


class NotLicensed(DappError):
    code = "not-licensed"
    http_status = 403
    exit_code = 6


class PaymentRequired(DappError):
    code = "payment-required"
    http_status = 402
    exit_code = 7


class DeploymentMissing(DappError):
    code = "deployment-missing"
    http_status = 503
    exit_code = 8


class PortInUse(DappError):
    code = "port-in-use"
    exit_code = 9


class ToolMissing(DappError):
    code = "tool-missing"
    exit_code = 10


class ContentMismatch(DappError):
    """Bytes a gateway served that are not what the chain (through the metadata whose CID it
    holds) says they are; the client removed them."""

    code = "content-mismatch"
    http_status = 502
    exit_code = 15
