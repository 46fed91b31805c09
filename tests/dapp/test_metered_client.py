"""`MeteredClient` against a scripted gateway (httpx MockTransport): the counting rules that
protect the buyer from a gateway that lies about what a channel has paid. The real gateway
and chain are in test_cli_invoke.py."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from dapp.client.gateway import GatewayClient
from dapp.client.metered import MeteredClient, SignedVouchers
from dapp.errors import PaymentRequired
from dapp.market.vouchers import ACCEPTED_HEADER, VOUCHER_HEADER, parse_voucher_header
from tests.dapp.helpers.market_view import FixedMarket

PRICE = 10
MARKET = "0x" + "ab" * 20
TERMS = {"address": "0x" + "cd" * 20, "market": MARKET, "chain_id": 1337,
         "token": "0x" + "ef" * 20, "price": str(PRICE), "registered": True,
         "endpoint": "http://gateway", "vouchers_pending": 0}


class ScriptedGateway:
    """Answers each invoke with the next scripted (status, headers, body); keeps the vouchers."""

    def __init__(self, answers: list[tuple[int, dict[str, str], dict[str, object]]]) -> None:
        self.answers = answers
        self.amounts: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/provider":
            return httpx.Response(200, json=TERMS)
        self.amounts.append(parse_voucher_header(request.headers[VOUCHER_HEADER])
                            .cumulative_amount)
        status, headers, body = self.answers.pop(0)
        media = "application/problem+json" if status >= 400 else "application/json"
        return httpx.Response(status, headers={**headers, "content-type": media},
                              content=json.dumps(body).encode())


def client(tmp_path: Path, gateway: ScriptedGateway) -> MeteredClient:
    buyer = Account.create()
    http = GatewayClient("http://gateway", buyer)
    http.http = httpx.Client(base_url="http://gateway", transport=httpx.MockTransport(gateway))
    return MeteredClient(http, SignedVouchers(tmp_path / "signed.json"),
                         FixedMarket(TERMS, buyer.address), 1337)


def paid(amount: int) -> tuple[int, dict[str, str], dict[str, object]]:
    return 200, {ACCEPTED_HEADER: str(amount)}, {"ok": True}


def stale(held: object) -> tuple[int, dict[str, str], dict[str, object]]:
    return 402, {}, {"reason": "stale", "accepted_cumulative": held, "detail": "stale"}


def test_a_gateway_claiming_more_than_was_signed_does_not_raise_the_count(
        tmp_path: Path) -> None:
    gateway = ScriptedGateway([paid(10**6), paid(2 * PRICE)])
    metered = client(tmp_path, gateway)
    assert metered.invoke(1, b"{}", channel_id=5).cumulative == PRICE
    metered.invoke(1, b"{}", channel_id=5)
    assert gateway.amounts == [PRICE, 2 * PRICE]  # not 10**6 + PRICE


def test_a_stale_count_is_taken_only_up_to_what_was_signed(tmp_path: Path) -> None:
    gateway = ScriptedGateway([paid(PRICE), stale(PRICE), paid(2 * PRICE)])
    metered = client(tmp_path, gateway)
    metered.invoke(1, b"{}", channel_id=5)
    key = SignedVouchers.key(1337, MARKET, 5)
    metered.vouchers.path.write_text(json.dumps({key: {"accepted": "0",
                                                       "signed": str(PRICE)}}))
    assert metered.invoke(1, b"{}", channel_id=5).cumulative == 2 * PRICE
    assert gateway.amounts == [PRICE, PRICE, 2 * PRICE]

    liar = ScriptedGateway([stale(50 * PRICE), stale(50 * PRICE), paid(51 * PRICE)])
    lied_to = client(tmp_path / "other", liar)
    refused = f"has paid {50 * PRICE}, but this machine signed at most {PRICE}"
    with pytest.raises(PaymentRequired, match=refused):
        lied_to.invoke(1, b"{}", channel_id=5)
    assert liar.amounts == [PRICE]
    assert lied_to.invoke(1, b"{}", channel_id=5, resync=True).cumulative == 51 * PRICE
    assert liar.amounts == [PRICE, PRICE, 51 * PRICE]


def test_a_stale_answer_without_a_usable_count_is_a_clear_refusal(tmp_path: Path) -> None:
    metered = client(tmp_path, ScriptedGateway([stale("lots")]))
    with pytest.raises(PaymentRequired, match="without a usable count"):
        metered.invoke(1, b"{}", channel_id=5)
