"""A model asset's files, decrypted once per content CID, and one call of it in the sandbox.

A model (asset kind MODEL or ALGORITHM) is packed content: a single Python file, or a folder
with `model.py` at its top. The gateway decrypts it through the content pipeline (the content
key must be sealed to this gateway) into `<data_dir>/models/<content CID>/` (mode 0700),
written to a temporary folder and renamed into place, so a half-written copy is never run.

A call runs `python -I model.py` in the sandbox (no network, CPU/memory/output/wall limits
from the `compute_*` settings) with the request body on stdin and `$MODEL_DIR` pointing at
the model's folder, bound read-only in that call's own bubblewrap sandbox; its stdout is the
response body. The cache stays 0700 under the (0700) data folder; a call sees only the one
model it runs (`dapp.compute.sandbox`). A model that defines `handle(body)` is served by a
warm worker of that model and buyer instead (`warm_pool`, `dapp.compute.warm`): the same
sandbox, loaded once, calls over a pipe. An archive is unpacked only when its members add up
to at most MAX_MODEL_BYTES (sparse members refused), not just its packed size.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3
from web3.exceptions import ContractLogicError

from dapp.chain.constants import AssetKind
from dapp.chain.contracts import load_abi
from dapp.chain.refresh import RefreshAhead
from dapp.chain.transactions import chain_errors
from dapp.compute.sandbox import (
    SandboxLimits,
    protect_data_dir,
    require_sandbox,
    run_python_in_sandbox,
)
from dapp.compute.warm import WarmCallFailed
from dapp.config import Settings
from dapp.errors import DappError, NotFound
from dapp.gateway.content.registry import AssetVersion
from dapp.gateway.content.service import ContentGateway
from dapp.gateway.metered import private
from dapp.gateway.metered.chunks import ChunkSource
from dapp.gateway.metered.warm_pool import WarmPool
from dapp.market.private_inference import MODEL_FILE as PRIVATE_MODEL_FILE
from dapp.market.private_inference import PrivateRequestInvalid, decode_request
from dapp.packing import ArchiveRefused, unpack_archive

log = logging.getLogger("dapp.gateway.metered")

ENTRY_POINT = "model.py"
MAX_MODEL_BYTES = 256 << 20
ASSET_INFO_TTL_SECONDS = 10.0


class NotAModel(DappError):
    code = "not-a-model"
    http_status = 404


class InvalidModel(DappError):
    """The model's content cannot run: no `model.py`, too large, not a tar archive."""

    code = "invalid-model"
    http_status = 422


class ModelFailed(DappError):
    """The model ran and failed (error exit, a limit); the call is charged: its voucher was
    reserved before the run."""

    code = "model-failed"
    http_status = 502


class PrivateInputRefused(ModelFailed):
    """A private model's evaluator refused the encrypted input (a secret key in the context,
    a ciphertext that does not parse): 422, charged like any call that reached the sandbox."""

    http_status = 422


@dataclass(frozen=True)
class ModelOutput:
    body: bytes
    media_type: str
    wall_seconds: float


def sandbox_limits(settings: Settings) -> SandboxLimits:
    return SandboxLimits(cpu_seconds=settings.compute_cpu_seconds,
                         memory_bytes=settings.compute_memory_mb << 20,
                         output_bytes=settings.compute_output_mb << 20,
                         wall_seconds=settings.compute_wall_seconds)


class ModelStore:
    def __init__(self, content: ContentGateway, root: Path, limits: SandboxLimits,
                 data_dir: Path | None = None, warm: WarmPool | None = None) -> None:
        self.content = content
        self.warm = warm  # None: every call runs cold
        self.root = root  # the decrypted-model cache (0700)
        self.limits = limits
        if data_dir is not None:  # the cache and the gateway key live there: closed to others
            protect_data_dir(data_dir)
        self._locks: dict[str, asyncio.Lock] = {}
        self._asset_info: dict[int, tuple[float, AssetKind, bool]] = {}
        self._info_lock = threading.Lock()
        self._refresh = RefreshAhead("models")

    # -- which asset ---------------------------------------------------------------------------
    def check_is_model(self, asset_id: int) -> None:
        """NotFound / NotAModel unless the asset is a live MODEL or ALGORITHM (cached 10 s)."""
        now = time.monotonic()
        with self._info_lock:
            cached = self._asset_info.get(asset_id)
        if cached is None or now - cached[0] >= ASSET_INFO_TTL_SECONDS:
            cached = self._store_asset_info(asset_id)
        elif now - cached[0] >= ASSET_INFO_TTL_SECONDS / 2:  # in use: renew it early
            self._refresh.soon(asset_id, lambda: self._store_asset_info(asset_id))
        _, kind, retired = cached
        if kind not in (AssetKind.MODEL, AssetKind.ALGORITHM):
            raise NotAModel(f"asset {asset_id} is a {kind.name.lower()}, not a model",
                            hint="only MODEL and ALGORITHM assets can be invoked")
        if retired:
            raise NotAModel(f"asset {asset_id} was retired by its owner")

    def _store_asset_info(self, asset_id: int) -> tuple[float, AssetKind, bool]:
        now = time.monotonic()
        kind, retired = self._read_asset_info(asset_id)
        with self._info_lock:
            self._asset_info[asset_id] = (now, kind, retired)
        return now, kind, retired

    def _read_asset_info(self, asset_id: int) -> tuple[AssetKind, bool]:
        if not 1 <= asset_id < 2**256:
            raise NotFound(f"asset {asset_id} does not exist")
        registry = self.content.services.web3.eth.contract(
            address=Web3.to_checksum_address(self.content.registry_address()),
            abi=load_abi("AssetRegistry"))
        try:
            with chain_errors(registry.w3, "reading the asset registry"):
                info = registry.functions.assetInfo(asset_id).call()
        except ContractLogicError:
            raise NotFound(f"asset {asset_id} does not exist") from None
        return AssetKind(int(info[0])), bool(info[1])

    # -- its files -----------------------------------------------------------------------------
    def ready_files(self, asset_id: int) -> Path | None:
        """The latest version's folder when it is unpacked already, else None (blocking: the
        version may be read from the chain; `files` unpacks it)."""
        folder = self.root / self.content.registry().resolve(asset_id, None).content_cid
        return folder if _has_entry(folder) else None

    async def files(self, asset_id: int) -> Path:
        """The folder holding the latest version's decrypted files (made on first use)."""
        version = await asyncio.to_thread(self.content.registry().resolve, asset_id, None)
        folder = self.root / version.content_cid
        if _has_entry(folder):
            return folder
        lock = self._locks.setdefault(version.content_cid, asyncio.Lock())
        async with lock:
            if not _has_entry(folder):
                await self._unpack(version.content_cid, version, folder)
        return folder

    async def _unpack(self, cid: str, version: AssetVersion, folder: Path) -> None:
        plan = await self.content.plan(version)
        if plan.size > MAX_MODEL_BYTES:
            raise InvalidModel(f"the model is {plan.size} bytes; at most {MAX_MODEL_BYTES} run")
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=self.root))
        try:
            packed = staging / "packed"
            with packed.open("wb") as out:
                async for chunk in await self.content.open_stream(plan, None):
                    out.write(chunk)
            files = staging / "files"
            files.mkdir(mode=0o700)
            if plan.is_archive:
                await asyncio.to_thread(_extract, packed, files)
            else:
                packed.rename(files / ENTRY_POINT)
            if not _has_entry(files):
                raise InvalidModel(f"the model's content has no {ENTRY_POINT} at its top",
                                   hint="publish a single Python file, or a folder with "
                                        f"{ENTRY_POINT} (or {PRIVATE_MODEL_FILE}) in it")
            os.chmod(files, 0o700)
            try:
                files.rename(folder)
            except OSError:  # another process put it there first
                if not _has_entry(folder):
                    raise
            log.info("model %s unpacked for asset %s", cid, version.asset_id)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # -- one call ------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop renewing asset kinds in the background (the gateway's shutdown)."""
        self._refresh.close()

    def check_runnable(self) -> None:
        """SandboxUnavailable (503) when no model can run here: asked before a voucher is
        reserved, so a gateway that cannot run models takes nobody's money."""
        require_sandbox()

    def run(self, folder: Path, body: bytes, buyer: str | None = None) -> ModelOutput:
        """The model's answer to `body` (blocking: call it from a worker thread): from a warm
        worker of (model, `buyer`) when the model defines `handle` and warm workers are on,
        else from a fresh sandbox (`run_cold`). A private (CKKS) model is evaluated by the
        gateway's evaluator in a warm worker (`private`)."""
        if private.is_private(folder):
            return self._run_private(folder, body, buyer or "")
        if self.warm is not None and buyer is not None and self.warm.serves(folder):
            started = time.monotonic()
            try:
                output = self.warm.call(folder, buyer, body)
            except WarmCallFailed as error:
                reason = str(error.details.get("reason", "failed"))
                log.warning("model %s failed warm (%s)", folder.name, reason)
                raise failed(reason) from None
            return ModelOutput(output, _media_type(output), time.monotonic() - started)
        return self.run_cold(folder, body)

    def open_chunks(self, folder: Path, body: bytes, buyer: str) -> ChunkSource:
        """The model's answer to `body` as chunks (a streamed call; blocking): a warm model's
        generator chunk by chunk, any other answer as one chunk. ModelFailed as `run`."""
        if self.warm is not None and self.warm.serves(folder):
            try:
                return ChunkSource(pooled=self.warm.open_stream(folder, buyer, body))
            except WarmCallFailed as error:
                reason = str(error.details.get("reason", "failed"))
                log.warning("model %s failed warm (%s)", folder.name, reason)
                raise failed(reason) from None
        return ChunkSource(whole=self.run_cold(folder, body).body)
    def _run_private(self, folder: Path, body: bytes, buyer: str) -> ModelOutput:
        started = time.monotonic()
        model = private.private_model(folder)
        try:
            decode_request(body, model.input_size)
        except PrivateRequestInvalid as invalid:
            raise _refused("wrong-input-size", invalid.message, model.input_size) from None
        try:
            answer = private.evaluate(self.warm, folder, buyer, body)
        except private.RefusedInput as refused:
            raise _refused(refused.code, refused.message, model.input_size) from None
        except WarmCallFailed as error:
            reason = str(error.details.get("reason", "failed"))
            log.warning("private model %s failed (%s)", folder.name, reason)
            raise failed(reason) from None
        return ModelOutput(answer, private.MEDIA_TYPE, time.monotonic() - started)

    def run_cold(self, folder: Path, body: bytes) -> ModelOutput:
        """Run the model once with `body` on stdin in a sandbox of its own. `workdir` only
        holds what the gateway reads back (stdout, stderr); the model runs on its staged
        copy elsewhere."""
        runs = self.root / ".runs"
        runs.mkdir(parents=True, exist_ok=True, mode=0o700)
        workdir = Path(tempfile.mkdtemp(dir=runs))
        try:
            result = run_python_in_sandbox(folder / ENTRY_POINT, workdir,
                                           {"MODEL_DIR": folder}, self.limits, stdin_bytes=body)
            if not result.succeeded:
                log.warning("model %s failed (%s): %s", folder.name, result.reason,
                            result.stderr_tail[-1000:])
                raise failed(result.reason or "failed")
            output = (workdir / "stdout.log").read_bytes()
            return ModelOutput(output, _media_type(output), result.wall_seconds)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def failed(reason: str) -> ModelFailed:
    return ModelFailed(f"the model failed: {reason}",
                       hint="the call was charged: its voucher was reserved for this run; "
                            "the next call needs one a price higher",
                       details={"reason": reason})


def _refused(code: str, message: str, input_size: int) -> PrivateInputRefused:
    error = PrivateInputRefused(
        f"the encrypted input was refused: {message}",
        hint="the call was charged (it reached the model); send a public context (no secret "
             f"key) and {input_size} ciphertexts made with it, as the private-inference "
             "client does",
        details={"reason": code, "input_size": input_size})
    error.code = code
    return error


def _has_entry(folder: Path) -> bool:
    return (folder / ENTRY_POINT).is_file() or (folder / PRIVATE_MODEL_FILE).is_file()


def _extract(archive: Path, into: Path) -> None:
    """Unpack once the members are known to add up to at most MAX_MODEL_BYTES unpacked, no
    sparse member among them (`dapp.packing.unpack_archive`, shared with job inputs)."""
    try:
        unpack_archive(archive, into, MAX_MODEL_BYTES)
    except ArchiveRefused as error:
        raise InvalidModel(f"the model's {error.message}", hint=error.hint) from None


def _media_type(output: bytes) -> str:
    try:
        json.loads(output)
    except ValueError:
        return "application/octet-stream"
    return "application/json"
