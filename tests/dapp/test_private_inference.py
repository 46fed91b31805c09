"""Private inference (issue 17): a private (CKKS) model evaluated by a provider gateway on the
buyer's encrypted input. The buyer's client keeps the secret key; the gateway's evaluator runs
in the sandbox (a warm worker, TenSEAL bound read-only) and answers ciphertext; the call is
paid with a voucher like any other.

The real stack: ganache with the ComputeMarket, Kubo, the gateway as a subprocess acting as a
registered provider (dev account 8), the buyer dev account 9 with a COMPUTE license."""

from __future__ import annotations

import http.client
import json
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import tenseal as ts

from dapp.chain.accounts import Keystore
from dapp.client.private import decrypt, encrypt, parse_rows
from dapp.errors import InvalidInput
from dapp.gateway.routes.private import PRIVATE_MAX_BYTES
from dapp.gateway.vouchers import VoucherLedger
from dapp.market.private_inference import (
    COEFF_MOD_BIT_SIZES,
    MAX_CIPHERTEXT_BYTES,
    MEDIA_TYPE,
    POLY_MODULUS_DEGREE,
    InvalidPrivateModel,
    PrivateModel,
    decode_request,
    encode_request,
    parse_model,
)
from dapp.metadata import AssetMetadata, PrivateInference
from dapp.packing import plan_pack
from dapp.publishing.pipeline import ContentRequest, build_metadata
from dapp.store.db import make_engine
from tests.dapp.conftest import run_cli
from tests.dapp.helpers.gateway import assert_problem
from tests.dapp.helpers.invoke import (
    BUYER,
    PRICE,
    Stack,
    publish_model,
    publish_scaler,
    start_provider_stack,
)

# Distinctive inputs: their decimal digits and IEEE encodings are searched for in what the
# gateway received, logged and stored.
ROW = [0.7315926, -1.2718281, 2.4142135]
LOGISTIC = {"kind": "logistic", "weights": [0.3, 0.8, -0.4], "bias": 0.1}
POLYNOMIAL = {"kind": "polynomial", "weights": [1.5, -0.5, 0.25], "bias": -0.2,
              "coefficients": [1.0, -2.0, 0.5, 0.1]}
TOLERANCE = 1e-3  # CKKS at N = 8192, 2^30 scale: errors ~1e-5 here
PASSWORD = "private-inference-buyer"


@pytest.fixture(scope="module")
def stack(chain, kubo, deployments_file: Path,  # type: ignore[no-untyped-def]
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = start_provider_stack(
        chain, kubo, deployments_file, tmp_path_factory.mktemp("gateway-private"),
        rate_limit_per_minute=100_000, invoke_price=PRICE, voucher_batch_size=10_000,
        voucher_batch_age_seconds=3600, compute_cpu_seconds=20, compute_wall_seconds=30,
        compute_memory_mb=768)
    yield started
    started.gateway.process.stop()


def publish_private(stack: Stack, folder: Path, document: dict) -> int:  # type: ignore[type-arg]
    folder.mkdir()
    (folder / "ckks-model.json").write_text(json.dumps(document))
    return publish_model(stack, folder)


@pytest.fixture(scope="module")
def logistic(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> int:
    return publish_private(stack, tmp_path_factory.mktemp("models") / "logistic", LOGISTIC)


def private_url(stack: Stack, asset_id: int) -> str:
    return f"{stack.gateway.url}/v1/models/{asset_id}/private"


def post(stack: Stack, model: int, body: bytes, channel: int, amount: int) -> httpx.Response:
    return httpx.post(private_url(stack, model), content=body, timeout=60,
                      headers={**stack.voucher(channel, amount), "Content-Type": MEDIA_TYPE})


def stored(stack: Stack, channel: int) -> int:
    ledger = VoucherLedger(make_engine(stack.gateway.settings.resolved_database_url))
    voucher = ledger.latest(str(channel))
    return 0 if voucher is None else voucher.cumulative_amount


def plaintext_traces(values: list[float]) -> list[bytes]:
    """How a plaintext input would show in bytes: its digits, and its IEEE encodings."""
    traces = []
    for value in values:
        traces.append(f"{abs(value):.7f}"[2:].encode())  # "7315926"
        for form in ("<d", ">d", "<f", ">f"):
            traces.append(struct.pack(form, value))
    return traces


def test_encrypted_call_matches_plaintext_is_paid_and_the_gateway_sees_only_ciphertext(
        stack: Stack, logistic: int) -> None:
    model = parse_model(json.dumps(LOGISTIC))
    channel = stack.open_channel(deposit=100 * PRICE)
    encrypted = encrypt([ROW])
    # what leaves the buyer: a public context (no secret key) and ciphertexts, no plaintext
    sent = decode_request(encrypted.body, model.input_size)
    assert not ts.context_from(sent.context).has_secret_key()
    assert not any(trace in encrypted.body for trace in plaintext_traces(ROW))

    response = post(stack, logistic, encrypted.body, channel, PRICE)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    assert response.headers["x-datadao-accepted-cumulative"] == str(PRICE)
    assert stored(stack, channel) == PRICE  # the voucher is committed
    (answer,) = decrypt(encrypted, response.content, 1)
    assert answer == pytest.approx(model.evaluate(ROW), abs=TOLERANCE)
    # the gateway's log and database hold no trace of the plaintext (nor of the answer)
    data_dir = stack.gateway.settings.data_dir
    kept = [stack.log_dir / "gateway.log", *data_dir.glob("dapp.db*")]
    if stack.gateway.settings.resolved_database_url.startswith("sqlite"):
        assert kept[1:], "no database file found to search"
    for path in kept:
        content = path.read_bytes()
        for trace in [*plaintext_traces(ROW), f"{answer:.6f}".encode()]:
            assert trace not in content, (path, trace)


def test_context_carrying_its_secret_key_is_refused(stack: Stack, logistic: int) -> None:
    """A client that would send its secret key (a buggy or malicious one): the evaluator
    refuses to compute with it, 422 secret-key-in-context."""
    context = ts.context(ts.SCHEME_TYPE.CKKS, POLY_MODULUS_DEGREE,
                         coeff_mod_bit_sizes=list(COEFF_MOD_BIT_SIZES))
    context.global_scale = 2 ** 30
    ciphertexts = [ts.ckks_vector(context, [x]).serialize() for x in ROW]
    body = encode_request(context.serialize(save_secret_key=True, save_galois_keys=False),
                          ciphertexts)
    channel = stack.open_channel(deposit=100 * PRICE)

    problem = assert_problem(post(stack, logistic, body, channel, PRICE), 422,
                             "secret-key-in-context")

    assert "secret key" in problem["detail"]
    assert problem["accepted_cumulative"] == str(PRICE)  # it reached the sandbox: charged


def test_malformed_input_gets_a_clear_422_charged_only_once_it_reached_the_sandbox(
        stack: Stack, logistic: int) -> None:
    encrypted = encrypt([ROW])
    sent = decode_request(encrypted.body)
    channel = stack.open_channel(deposit=100 * PRICE)
    # not the envelope, a ciphertext over its cap, cut short, not the model's input size:
    # refused before the voucher is reserved
    for body, words in ((b'{"x": [1, 2, 3]}', "DDCKKS1"),
                        (encode_request(sent.context, [b"\0" * (MAX_CIPHERTEXT_BYTES + 1)] * 3),
                         "ciphertext 1 is"),
                        (encrypted.body[:-10], "ends inside"),
                        (encode_request(sent.context, sent.ciphertexts[:2]), "takes 3 inputs")):
        problem = assert_problem(post(stack, logistic, body, channel, PRICE), 422,
                                 "invalid-private-request")
        assert words in problem["detail"]
    assert stored(stack, channel) == 0
    # a ciphertext that does not parse: parsed in the sandbox, refused, charged
    garbage = encode_request(sent.context, [sent.ciphertexts[0], b"garbage" * 100,
                                            sent.ciphertexts[2]])
    problem = assert_problem(post(stack, logistic, garbage, channel, PRICE), 422,
                             "malformed-ciphertext")
    assert "ciphertext 2" in problem["detail"]
    assert problem["accepted_cumulative"] == str(PRICE)
    # a context without the relinearization keys a degree-3 model needs
    context = ts.context_from(sent.context)
    keyless = encode_request(context.serialize(save_public_key=False, save_secret_key=False,
                                               save_galois_keys=False, save_relin_keys=False),
                             sent.ciphertexts)
    problem = assert_problem(post(stack, logistic, keyless, channel, 2 * PRICE), 422,
                             "missing-keys")
    assert "relinearization keys" in problem["detail"]
    assert stored(stack, channel) == 2 * PRICE


def test_size_caps_and_an_ordinary_model_are_refused_before_payment(
        stack: Stack, logistic: int, tmp_path: Path) -> None:
    """This route takes encrypted input up to its cap (413 above, before the body is read);
    every other route keeps `max_request_bytes`, and an ordinary model is no private one."""
    url = urlsplit(private_url(stack, logistic))
    connection = http.client.HTTPConnection(url.netloc, timeout=60)
    connection.putrequest("POST", url.path)
    connection.putheader("Content-Length", str(PRIVATE_MAX_BYTES + 1))  # and no body sent
    connection.endheaders()
    oversized = connection.getresponse()
    assert oversized.status == 413
    assert f"limited to {PRIVATE_MAX_BYTES} bytes" in json.loads(oversized.read())["detail"]
    connection.close()
    encrypted = encrypt([ROW])
    assert len(encrypted.body) > stack.gateway.settings.max_request_bytes
    ordinary = httpx.post(f"{stack.gateway.url}/v1/models/{logistic}/invoke",
                          content=encrypted.body, timeout=60)
    assert_problem(ordinary, 413, "too-large")
    scaler = publish_scaler(stack, tmp_path / "scaler")
    channel = stack.open_channel(deposit=100 * PRICE)
    assert_problem(post(stack, scaler, encrypted.body, channel, PRICE), 422,
                   "not-a-private-model")
    assert stored(stack, channel) == 0  # refused before its voucher was reserved


def test_cli_invoke_private_prints_the_decrypted_answers(stack: Stack, tmp_path: Path,
                                                         chain, deployments_file: Path  # type: ignore[no-untyped-def]
                                                         ) -> None:
    polynomial = publish_private(stack, tmp_path / "polynomial", POLYNOMIAL)
    model: PrivateModel = parse_model(json.dumps(POLYNOMIAL))
    channel = stack.open_channel(deposit=100 * PRICE)
    Keystore(tmp_path / "keystore").import_key("buyer", BUYER.key.hex(), PASSWORD)
    rows = [ROW, [0.5, 0.25, -1.0]]
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    env = {"DAPP_DATA_DIR": str(tmp_path), "DAPP_CHAIN_RPC_URL": chain.rpc_url,
           "DAPP_DEPLOYMENTS_FILE": str(deployments_file), "DAPP_KEYSTORE_PASSWORD": PASSWORD,
           "DAPP_ACCOUNT": "buyer", "DAPP_GATEWAY_PUBLIC_URL": stack.gateway.url}

    result = run_cli("invoke", str(polynomial), "--private", "--input",
                     str(tmp_path / "rows.json"), "--channel", str(channel), env=env)

    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert answers == pytest.approx([model.evaluate(row) for row in rows], abs=TOLERANCE)
    assert f"channel {channel} has paid {PRICE}" in result.stderr
    assert stored(stack, channel) == PRICE


@pytest.mark.parametrize("text", ['{"x": 1}', "[]", "[[1, 2], [3]]", '[1, "2"]', "[1, NaN]",
                                  "not json"])
def test_input_that_is_no_vector_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_rows(text)
    assert "\n" not in str(refused.value)


def test_publishing_a_private_model_declares_it_in_its_metadata(tmp_path: Path) -> None:
    folder = tmp_path / "logistic"
    folder.mkdir()
    (folder / "ckks-model.json").write_text(json.dumps(LOGISTIC))
    request = ContentRequest(path=folder, title="Logistic", license_text="MIT", kind="model",
                             open=True)

    metadata = build_metadata(request, plan_pack(folder), [])

    assert metadata.private_inference == PrivateInference(scheme="ckks", input_size=3)
    assert b'"private_inference":{"input_size":3,"scheme":"ckks"}' in \
        metadata.to_canonical_json()
    assert AssetMetadata.from_json(metadata.to_canonical_json()) == metadata
    dataset = build_metadata(replace(request, kind="dataset"), plan_pack(folder), [])
    assert dataset.private_inference is None
    (folder / "ckks-model.json").write_text('{"kind": "logistic", "weights": "many"}')
    with pytest.raises(InvalidPrivateModel, match="weights must be a list of finite numbers"):
        build_metadata(request, plan_pack(folder), [])
