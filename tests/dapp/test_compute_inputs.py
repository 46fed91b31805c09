"""A job's inputs are sized before they are read and unpacked under a cap (issue 14), against
the real stack: ganache with the ComputeMarket, Kubo, and a provider gateway (a fresh account)
whose `max_content_bytes` is 256 KiB.

A dataset over the cap fails its job with a reason naming the cap, before a byte of it is
read; a packed dataset with a sparse member (a 20 KiB tar that unpacks to 64 MiB) fails with a
reason naming that, nothing unpacked. Both jobs are declined, so the buyer is refunded."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from web3.logs import DISCARD

from dapp.crypto.sealing import seal_key
from dapp.crypto.segments import DEFAULT_SEGMENT_SIZE, encrypt_stream, generate_content_key
from dapp.ipfs.cid import cid_to_chain
from dapp.ipfs.client import IpfsClient
from dapp.metadata import CIPHER_DDX1, AssetMetadata, ContentInfo, FileEntry, SealedKey
from dapp.packing import ArchiveRefused, unpack_archive
from tests.dapp.conftest import fund_account
from tests.dapp.helpers.buying import buy_call
from tests.dapp.helpers.compute import (
    BUYER,
    COMPUTE,
    DATA_FEE,
    DATASET,
    LICENSE_PRICE,
    PUBLISHER,
    Stack,
    compute_provider_settings,
    publish_algorithm,
    transact,
)
from tests.dapp.helpers.gateway import session

CAP = 256 << 10
COUNT_INPUTS = """
    import os, pathlib
    (pathlib.Path(os.environ["OUTPUT"]) / "n.txt").write_text(str(os.listdir(os.environ["INPUT"])))
"""


PROVIDER = Account.create()  # this module's provider: its jobs stay out of other suites'


@pytest.fixture(scope="module")
def provider_settings(chain, kubo, deployments_file, tmp_path_factory):  # type: ignore[no-untyped-def]
    provider = PROVIDER
    fund_account(chain, deployments_file, provider.address, 1000 * 10**18)
    settings = compute_provider_settings(tmp_path_factory.mktemp("inputs-provider"), chain,
                                         kubo, deployments_file, provider)
    return settings.with_overrides(max_content_bytes=CAP)


def publish_packed(stack: Stack, packed: bytes, files: list[FileEntry], size: int) -> int:
    """`packed` (a file's bytes, or a tar) encrypted, sealed to the gateway and published as a
    dataset with a COMPUTE offer that BUYER buys."""
    content_key = generate_content_key()
    public_key = stack.gateway_key()
    with IpfsClient(stack.kubo.api_url, timeout_seconds=60) as ipfs:
        content_cid = ipfs.add_chunks(encrypt_stream(content_key, iter([packed]), size)).cid
        metadata = AssetMetadata(
            title="input", kind="dataset", license="CC-BY-4.0", size=size, files=files,
            content=ContentInfo(encrypted=True, plaintext_size=size, cipher=CIPHER_DDX1,
                                segment_size=DEFAULT_SEGMENT_SIZE),
            sealed_keys=[SealedKey(gateway_public_key=public_key,
                                   sealed_key=seal_key(content_key, public_key))])
        metadata_cid = ipfs.add_bytes(metadata.to_canonical_json()).cid
    receipt = transact(stack, stack.registry.functions.publish(
        DATASET, cid_to_chain(content_cid), cid_to_chain(metadata_cid), 0,
        [(stack.token.address, LICENSE_PRICE, 0, COMPUTE)]), PUBLISHER.address)
    (event,) = stack.registry.events.AssetPublished().process_receipt(receipt, errors=DISCARD)
    asset_id = int(event["args"]["assetId"])
    transact(stack, stack.market.functions.setComputeFee(asset_id, stack.token.address,
                                                         DATA_FEE), PUBLISHER.address)
    transact(stack, stack.token.functions.approve(stack.registry.address, LICENSE_PRICE),
             BUYER.address)
    transact(stack, buy_call(stack.registry, asset_id, 1, BUYER.address),
             BUYER.address)
    return asset_id


def run_job(stack: Stack, dataset_id: int, algorithm_id: int) -> dict:  # type: ignore[type-arg]
    """Escrow a job with this gateway as provider; its status once it ended."""
    provider = PROVIDER.address
    params = stack.market.functions.params().call()
    deadline = time.monotonic() + 90
    while True:  # the gateway registers and stakes in the background
        token, _price, stake, _locked, _exit_at, endpoint = (
            stack.market.functions.getProvider(provider).call())
        if int(token, 16) and stake >= params[5] + 8 * params[0] and endpoint:
            break
        assert time.monotonic() < deadline, "provider not registered/staked"
        time.sleep(0.5)
    price = stack.market.functions.getProvider(provider).call()[1] + \
        stack.market.functions.computeFee(dataset_id).call()[1]
    transact(stack, stack.token.functions.approve(stack.market.address, price), BUYER.address)
    now = int(stack.web3.eth.get_block("latest")["timestamp"])
    receipt = transact(stack, stack.market.functions.createJob(
        dataset_id, algorithm_id, provider, now + 3600, stack.token.address, price),
        BUYER.address)
    (event,) = stack.market.events.JobCreated().process_receipt(receipt, errors=DISCARD)
    job_id = int(event["args"]["jobId"])
    headers = session(stack.gateway, BUYER)
    deadline = time.monotonic() + 120
    while True:
        response = httpx.get(f"{stack.gateway.url}/v1/jobs/{job_id}", headers=headers,
                             timeout=30)
        if response.status_code == 200 and response.json()["status"] in (
                "failed", "submitted"):
            return dict(response.json())
        assert time.monotonic() < deadline, response.text
        time.sleep(0.3)


def sparse_tar(tmp_path: Path) -> bytes:
    source = tmp_path / "sparse-src"
    source.mkdir()
    (source / "rows.csv").write_text("a,b\n1,2\n")
    with (source / "weights.bin").open("wb") as handle:
        handle.truncate(64 << 20)
    archive = tmp_path / "sparse.tar"
    subprocess.run(["tar", "--sparse", "-cf", str(archive), "-C", str(source),
                    "rows.csv", "weights.bin"], check=True)
    return archive.read_bytes()


def test_job_on_a_dataset_over_the_content_cap_fails_with_its_reason(
        compute_stack: Stack, tmp_path: Path) -> None:
    data = os.urandom(300 << 10)
    files = [FileEntry(path="blob.bin", size=len(data), sha256="0" * 64)]
    dataset_id = publish_packed(compute_stack, data, files, len(data))
    algorithm_id = publish_algorithm(compute_stack, tmp_path, "count", COUNT_INPUTS,
                                     trusted_on=dataset_id)
    status = run_job(compute_stack, dataset_id, algorithm_id)
    assert status["status"] == "failed", status
    assert f"over this provider's cap of {CAP} bytes (max_content_bytes)" in status["reason"]


def test_job_on_a_sparse_dataset_fails_with_its_reason(compute_stack: Stack,
                                                       tmp_path: Path) -> None:
    """Job inputs were unpacked with no sparse-member or unpacked-size check (models had
    one): a 20 KiB archive became 64 MiB in the job's folder."""
    packed = sparse_tar(tmp_path)
    assert len(packed) < CAP
    # the metadata cannot list the sparse member (its files must fit in `size`): only the
    # archive says what it unpacks to
    files = [FileEntry(path="rows.csv", size=8, sha256="0" * 64)]
    dataset_id = publish_packed(compute_stack, packed, files, len(packed))
    algorithm_id = publish_algorithm(compute_stack, tmp_path, "count", COUNT_INPUTS,
                                     trusted_on=dataset_id)
    status = run_job(compute_stack, dataset_id, algorithm_id)
    assert status["status"] == "failed", status
    assert "sparse member" in status["reason"], status


def test_unpack_archive_refuses_sparse_and_oversized_archives(tmp_path: Path) -> None:
    """The one unpack function that models and job inputs share (dapp.packing)."""
    sparse = tmp_path / "sparse.tar"
    sparse.write_bytes(sparse_tar(tmp_path))
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(ArchiveRefused, match="sparse member"):
        unpack_archive(sparse, into, 1 << 40)
    big = tmp_path / "big.tar"
    with tarfile.open(big, "w") as tar:
        for name in ("a.bin", "b.bin"):
            info = tarfile.TarInfo(name)
            info.size = 600
            tar.addfile(info, io.BytesIO(b"x" * 600))
    with pytest.raises(ArchiveRefused, match="unpacks to 1200 bytes; at most 1000"):
        unpack_archive(big, into, 1000)
    assert list(into.iterdir()) == []
    unpack_archive(big, into, 1200)
    assert sorted(p.name for p in into.iterdir()) == ["a.bin", "b.bin"]
