"""A client of the gateway's HTTP API for scripts and the CLI: Sign-In with Ethereum with a
local account, then licensed downloads that resume where they stopped (HTTP Range + If-Range).

Sign-in trusts nothing of the gateway's challenge but its nonce: the message names the origin
this client connected to and the chain it is on itself. A gateway that relays another
gateway's challenge (to trade the signature there for a session as the user) is refused before
anything is signed.

A download is checked before it is kept: the caller hands in the metadata document of the
version the chain names (`ExpectedContent`, its bytes checked against the on-chain metadata
CID), and the plaintext must have the declared size and sha256s (the file's own for a single
file, each member's for a folder's tar). Bytes that do not match are removed, `.part` and all,
and `ContentMismatch` says so; a hostile gateway cannot hand over wrong bytes unnoticed."""

from __future__ import annotations

import hashlib
import re
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from dapp.errors import (
    AccountNeeded,
    ContentMismatch,
    DappError,
    InvalidInput,
    IpfsUnavailable,
    NotAuthenticated,
    NotFound,
    NotLicensed,
    PaymentRequired,
    ServiceUnavailable,
)
from dapp.ipfs.cid import CODEC_RAW, cid_from_chain, cid_to_chain, validate_cid
from dapp.metadata import AssetMetadata, InvalidMetadata
from dapp.packing import file_sha256

STATUS_ERRORS: dict[int, type[DappError]] = {
    401: NotAuthenticated, 402: PaymentRequired, 403: NotLicensed, 404: NotFound,
    503: ServiceUnavailable,
}
CHUNK = 1 << 20
Progress = Callable[[int, int], None]
SIWE_NONCE = re.compile(r"^[A-Za-z0-9]{8,64}$")  # EIP-4361: at least 8 alphanumerics


class ForeignChallenge(NotAuthenticated):
    """A gateway asked to sign in to another site, chain or with a malformed nonce."""

    code = "foreign-sign-in-challenge"


class ChainIdNeeded(AccountNeeded):
    """Signing in needs the chain id of the caller's own chain (not the gateway's word)."""

    code = "chain-id-needed"


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def siwe_message(address: str, domain: str, uri: str, chain_id: int, nonce: str,
                 lifetime_seconds: float = 600) -> str:
    """The EIP-4361 message the gateway expects (its nonce endpoint names domain, URI, chain)."""
    now = time.time()
    return (
        f"{domain} wants you to sign in with your Ethereum account:\n{address}\n\n"
        "Sign in to the DataDAO Exchange gateway.\n\n"
        f"URI: {uri}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\n"
        f"Issued At: {_iso(now)}\nExpiration Time: {_iso(now + lifetime_seconds)}"
    )


_PROBLEM_STANDARD = ("type", "title", "status", "detail", "instance", "hint")


def raise_for_problem(response: httpx.Response) -> None:
    """Turn a problem+json answer into the matching DappError (message from `detail`)."""
    if response.status_code < 400:
        return
    detail = response.text[:300]
    members: dict[str, Any] = {}
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        body: dict[str, Any] = response.json()
        detail = str(body.get("detail") or body.get("title") or detail)
        members = {k: v for k, v in body.items() if k not in _PROBLEM_STANDARD}
    error = STATUS_ERRORS.get(response.status_code, DappError)
    raise error(f"gateway answered {response.status_code}: {detail}", details=members)


@dataclass
class DownloadResult:
    path: Path
    size: int
    resumed_from: int
    etag: str
    gateway: str = ""  # the gateway URL that served the last part


@dataclass
class JobResult:
    path: Path
    size: int
    sha256: str  # "0x…", as the chain's resultHash


@dataclass(frozen=True)
class ExpectedContent:
    """What the chain says one version of an asset is: its metadata CID (from the registry's
    `version(assetId, n)`) and that document's bytes, fetched from anywhere (`checked_metadata`
    verifies them against the CID)."""

    asset_id: int
    version: int
    metadata_cid: str
    metadata: AssetMetadata


def checked_metadata(asset_id: int, version: int, metadata_cid: str, data: bytes, *,
                     verified_by_ipfs: bool = False) -> ExpectedContent:
    """The metadata document of `version`, if `data` is the document the chain names. A raw
    CID (one block: metadata up to 256 KiB) is checked here; a dag-pb one only when the bytes
    came by CID from one's own IPFS node (`verified_by_ipfs`), which checks every block."""
    cid = validate_cid(metadata_cid)
    _digest, codec = cid_to_chain(cid)
    if codec == CODEC_RAW:
        computed = cid_from_chain(hashlib.sha256(data).digest(), CODEC_RAW)
        if computed != cid:
            raise ContentMismatch(
                f"the metadata fetched for asset {asset_id} version {version} is {computed}, "
                f"not the {cid} the chain names", details={"asset_id": asset_id})
    elif not verified_by_ipfs:
        raise ContentMismatch(f"the metadata {cid} of asset {asset_id} is not a single raw "
                              "block; fetch it by CID from your own IPFS node",
                              details={"asset_id": asset_id})
    try:
        metadata = AssetMetadata.from_json(data)
    except InvalidMetadata as error:
        raise ContentMismatch(f"the metadata {cid} of asset {asset_id} version {version} is "
                              f"not an asset metadata document: {error.message}",
                              details={"asset_id": asset_id}) from None
    return ExpectedContent(asset_id, version, cid, metadata)


def _archive_problem(path: Path, metadata: AssetMetadata) -> str | None:
    """Why the tar at `path` is not the folder `metadata` lists (None: it is)."""
    declared = {file.path: file for file in metadata.files}
    seen: set[str] = set()
    try:
        with tarfile.open(path, "r:") as tar:
            for member in tar:
                if member.isdir():
                    continue
                entry = declared.get(member.name)
                if not member.isreg() or entry is None or member.name in seen:
                    return f"it holds {member.name!r}, which the metadata does not list"
                seen.add(member.name)
                if member.size != entry.size:
                    return f"{member.name} is {member.size:,} bytes, not {entry.size:,}"
                source = tar.extractfile(member)
                if source is None:
                    return f"{member.name} cannot be read"
                digest = hashlib.sha256()
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                if digest.hexdigest() != entry.sha256:
                    return f"{member.name} hashes to {digest.hexdigest()}, not {entry.sha256}"
    except (tarfile.TarError, OSError) as error:
        return f"it is not the folder's archive ({error})"
    missing = sorted(set(declared) - seen)
    return f"{missing[0]} is missing" if missing else None


def content_problem(path: Path, metadata: AssetMetadata) -> str | None:
    """Why the plaintext at `path` is not the content `metadata` describes (None: it is): the
    size, then the sha256 of a single file, or of each file in a folder's tar."""
    size = path.stat().st_size
    if size != metadata.content.plaintext_size:
        return f"it is {size:,} bytes, not the {metadata.content.plaintext_size:,} declared"
    files = metadata.files
    if len(files) == 1 and files[0].size == metadata.size:  # one file, packed as is
        served = file_sha256(path)
        if served != files[0].sha256:
            return f"it hashes to {served}, not the declared {files[0].sha256}"
        return None
    return _archive_problem(path, metadata)


def origin_of(url: str) -> tuple[str, str]:
    """(domain, origin) of a gateway URL: `host[:port]` and `scheme://host[:port]`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        raise InvalidInput(f"{url!r} is not a gateway URL (http[s]://host[:port])")
    return parts.netloc, f"{parts.scheme}://{parts.netloc}"


class GatewayClient:
    def __init__(self, base_url: str, account: LocalAccount | None,
                 timeout: float = 60.0, *, chain_id: int | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        """`account` signs in; None for the public endpoints only. `chain_id` is the chain
        the caller is on (its own RPC's answer): sign-in refuses a gateway on another.
        `transport`: httpx's (socket options, a proxy); None, the default."""
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.chain_id = chain_id
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            raise ServiceUnavailable(f"gateway {self.base_url} unreachable: {error}",
                                     hint="is the gateway running? `make up` starts one") from error

    def sign_in(self) -> str:
        """SIWE: fetch a nonce, sign a message for this client's own origin and chain with
        the local account, keep the session."""
        if self.account is None:
            raise AccountNeeded("signing in to the gateway needs an account")
        if self.chain_id is None:
            raise ChainIdNeeded("signing in needs the chain id of your own chain",
                                hint="pass the id your chain RPC reports")
        domain, origin = origin_of(self.base_url)
        challenge = self.request("GET", "/v1/auth/nonce")
        raise_for_problem(challenge)
        nonce = self._checked_challenge(challenge.json(), domain, origin)
        text = siwe_message(self.account.address, domain, origin, self.chain_id, nonce)
        signed = self.account.sign_message(encode_defunct(text=text)).signature.hex()
        signature = "0x" + signed.removeprefix("0x")
        response = self.request("POST", "/v1/auth/siwe",
                                 json={"message": text, "signature": signature})
        raise_for_problem(response)
        self._token = str(response.json()["token"])
        return self._token

    def _checked_challenge(self, challenge: Any, domain: str, origin: str) -> str:
        """The challenge's nonce, if the challenge is for this very gateway and chain."""
        try:
            theirs = (str(challenge["domain"]), str(challenge["uri"]).rstrip("/"),
                      int(challenge["chain_id"]))
            nonce = str(challenge["nonce"])
        except (TypeError, KeyError, ValueError):
            raise ForeignChallenge(f"the gateway at {origin} sent a sign-in challenge without "
                                   "domain, uri, chain_id and nonce") from None
        if theirs != (domain, origin, self.chain_id):
            raise ForeignChallenge(
                f"refused to sign in: the gateway at {origin} asked for a signature for "
                f"{theirs[1]} on chain {theirs[2]}, not for itself on chain {self.chain_id}",
                hint="a gateway that relays another site's sign-in is not to be trusted",
                details={"connected_to": origin, "challenge_uri": theirs[1],
                         "challenge_chain_id": theirs[2], "chain_id": self.chain_id})
        if not SIWE_NONCE.match(nonce):
            raise ForeignChallenge(f"refused to sign in: the gateway at {origin} sent a "
                                   "nonce that is not 8-64 letters and digits")
        return nonce

    @property
    def auth_headers(self) -> dict[str, str]:
        if self._token is None:
            self.sign_in()
        return {"Authorization": f"Bearer {self._token}"}

    def job(self, job_id: int) -> dict[str, Any]:
        """`GET /v1/jobs/{id}`: the provider gateway's view of the caller's job."""
        response = self.request("GET", f"/v1/jobs/{job_id}", headers=self.auth_headers)
        raise_for_problem(response)
        return dict(response.json())

    def job_result(self, job_id: int, destination: Path) -> JobResult:
        """Stream the job's plain result into `destination` (through a .part file), hashing
        it on the way; the caller checks the digest against the chain's `resultHash`."""
        partial = destination.with_name(destination.name + ".part")
        digest, size = hashlib.sha256(), 0
        try:
            with self.http.stream("GET", f"/v1/jobs/{job_id}/result",
                                  headers=self.auth_headers) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_problem(response)
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
        except httpx.TransportError as error:
            raise ServiceUnavailable(f"the result of job {job_id} was cut at {size:,} bytes: "
                                     f"{error}", hint="run the same command again") from error
        partial.replace(destination)
        return JobResult(destination, size, "0x" + digest.hexdigest())

    def download(self, asset_id: int, destination: Path, *, version: int | None = None,
                 on_progress: Progress | None = None,
                 expected: ExpectedContent | None = None) -> DownloadResult:
        """Download the asset's content into `destination`, resuming a partial file left by an
        earlier attempt (`destination` + ".part") when the content has not changed. With
        `expected` (the version the chain names), that version is asked for and the finished
        bytes are kept only if they are its content: else they are removed, `ContentMismatch`."""
        if expected is not None:
            if version is not None and version != expected.version:
                raise InvalidInput(f"asked for version {version} and checking against "
                                   f"version {expected.version}")
            version = expected.version
        partial = destination.with_name(destination.name + ".part")
        etag_file = destination.with_name(destination.name + ".etag")
        offset = partial.stat().st_size if partial.is_file() and etag_file.is_file() else 0
        headers = dict(self.auth_headers)
        if offset:
            headers["Range"] = f"bytes={offset}-"
            headers["If-Range"] = etag_file.read_text().strip()
        params = {"version": version} if version is not None else None
        url = f"/v1/assets/{asset_id}/content"
        try:
            with self.http.stream("GET", url, headers=headers, params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_problem(response)
                if response.status_code == 200:
                    offset = 0  # full body: the content changed or nothing was there yet
                total = offset + int(response.headers["content-length"])
                etag = response.headers.get("etag", "")
                etag_file.write_text(etag)
                done = offset
                with partial.open("ab" if offset else "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        done += len(chunk)
                        if on_progress:
                            on_progress(done, total)
        except httpx.TransportError as error:
            cut = partial.stat().st_size if partial.is_file() else 0
            raise IpfsUnavailable(
                f"download of asset {asset_id} from {self.base_url} was cut at {cut:,} bytes: "
                f"{error}", hint="run the same command again to resume") from error
        if done != total:
            raise IpfsUnavailable(f"download of asset {asset_id} ended early ({done}/{total})",
                                  hint="run the same command again to resume")
        if expected is not None:
            problem = content_problem(partial, expected.metadata)
            if problem is not None:
                partial.unlink(missing_ok=True)
                etag_file.unlink(missing_ok=True)
                raise ContentMismatch(
                    f"the content {self.base_url} served for asset {asset_id} version "
                    f"{expected.version} is not what its metadata {expected.metadata_cid} on "
                    f"chain declares: {problem}; removed it",
                    details={"asset_id": asset_id, "version": expected.version,
                             "gateway": self.base_url})
        partial.replace(destination)
        etag_file.unlink(missing_ok=True)
        return DownloadResult(path=destination, size=total,
                              resumed_from=offset, etag=etag, gateway=self.base_url)
