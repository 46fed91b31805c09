"""The core's errors say what to do in words any client can act on; only the CLI names its
flags and `datadao …` commands (`dapp.cli.hints`), so a gateway never hands a command line to
an HTTP client. The errors come from the real code paths where they need no chain or IPFS."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector

from dapp.chain.accounts import Keystore
from dapp.chain.contracts import load_abi
from dapp.chain.transactions import ErrorDecoder
from dapp.cli.hints import CODE_HINTS, REVERT_HINTS, cli_hint, cli_message
from dapp.client.gateway import GatewayClient
from dapp.client.metered import MeteredClient, SignedVouchers
from dapp.errors import DappError
from dapp.ipfs.client import IpfsClient
from dapp.publishing.exchange import Exchange, UnknownOffer
from dapp.publishing.gateways import fetch_gateway_key
from dapp.publishing.pipeline import ContentRequest, PublishPipeline
from tests.dapp.helpers.market_view import FixedMarket

DAPP = Path(__file__).resolve().parents[2] / "dapp"
#: the words of a command line: a flag, or a `datadao` command
CLI_WORDS = re.compile(r"--[a-z]|\bdatadao [a-z]")
#: below the CLI, but allowed to speak a command line, and why
SPEAKS_CLI = {"cli": "it is the CLI", "devstack": "it is `datadao up`"}
WHITELIST = {
    ("indexer/sync.py", "--reset"): "ReorgTooDeep names the indexer's own command "
                                    "(`python -m dapp.indexer --reset`) to its operator; it "
                                    "never reaches a gateway answer or the datadao CLI",
}
TERMS = {"address": "0x" + "cd" * 20, "market": "0x" + "ab" * 20, "chain_id": 1337,
         "token": "0x" + "ef" * 20, "price": "10", "endpoint": "http://gateway"}


def _raised(action: Callable[[], object]) -> DappError:
    with pytest.raises(DappError) as raised:
        action()
    return raised.value


def _metered(tmp_path: Path, invoke_answer: httpx.Response) -> MeteredClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=TERMS) if request.url.path == "/v1/provider" \
            else invoke_answer

    buyer = Account.create()
    gateway = GatewayClient("http://gateway", buyer)
    gateway.http = httpx.Client(base_url="http://gateway", transport=httpx.MockTransport(answer))
    return MeteredClient(gateway, SignedVouchers(tmp_path / "signed.json"),
                         FixedMarket(TERMS, buyer.address), 1337)


def _no_pipeline() -> PublishPipeline:
    return PublishPipeline(cast(IpfsClient, None), cast(Exchange, None))


def _unknown_account(tmp_path: Path) -> DappError:
    return _raised(lambda: Keystore(tmp_path).find("nobody"))


def _account_needed(tmp_path: Path) -> DappError:
    return _raised(GatewayClient("http://127.0.0.1:9", account=None).sign_in)


def _gateway_unreachable(tmp_path: Path) -> DappError:
    return _raised(lambda: fetch_gateway_key("http://127.0.0.1:9", timeout_seconds=2))


def _gateway_keys_needed(tmp_path: Path) -> DappError:
    request = ContentRequest(path=tmp_path, title="t", license_text="CC0")
    return _raised(lambda: _no_pipeline().upload(request))


def _open_with_gateway_keys(tmp_path: Path) -> DappError:
    request = ContentRequest(path=tmp_path, title="t", license_text="CC0", open=True,
                             gateway_keys=("a key",))
    return _raised(lambda: _no_pipeline().upload(request))


def _channel_needed(tmp_path: Path) -> DappError:
    metered = _metered(tmp_path, httpx.Response(500))
    return _raised(lambda: metered.invoke(1, b"{}", channel_id=None))


def _gateway_count_ahead(tmp_path: Path) -> DappError:
    stale = httpx.Response(402, json={"reason": "stale", "accepted_cumulative": 500},
                           headers={"content-type": "application/problem+json"})
    metered = _metered(tmp_path, stale)
    return _raised(lambda: metered.invoke(1, b"{}", channel_id=5))


def _price_above_maximum(tmp_path: Path) -> DappError:
    metered = _metered(tmp_path, httpx.Response(500))
    return _raised(lambda: metered.invoke(1, b"{}", channel_id=5, max_price=9))


def _voucher_record_unreadable(tmp_path: Path) -> DappError:
    (tmp_path / "signed.json").write_text("{not json")
    return _raised(lambda: SignedVouchers(tmp_path / "signed.json").get("key"))


@pytest.mark.parametrize(("make", "code", "cli_words"), [
    (_unknown_account, "unknown-account",
     "`datadao account list` shows them; `datadao account new` makes one"),
    (_account_needed, "account-needed", "pass --account NAME"),
    (_gateway_unreachable, "gateway-unreachable", "start it (`make up`) or pass --seal-to KEY"),
    (_gateway_keys_needed, "gateway-keys-needed",
     "pass --seal-to KEY or --gateway URL, or --open to publish unencrypted"),
    (_open_with_gateway_keys, "open-with-gateway-keys", "drop --seal-to/--gateway or --open"),
    (_channel_needed, "channel-needed", "pass --channel ID (`datadao channel open` opens one)"),
    (_gateway_count_ahead, "gateway-count-ahead", "pass --resync to continue"),
    (_price_above_maximum, "price-above-maximum", "raise --max-price"),
    (_voucher_record_unreadable, "voucher-record-unreadable", "then pass --resync once"),
])
def test_a_core_error_names_no_flag_but_the_cli_says_it_in_its_own(
        tmp_path: Path, make: Callable[[Path], DappError], code: str, cli_words: str) -> None:
    error = make(tmp_path)
    assert error.code == code
    assert error.hint and not CLI_WORDS.search(error.hint)  # any client can act on it
    assert not CLI_WORDS.search(error.message)
    assert cli_words in cli_message(error)  # what the CLI printed before
    assert cli_message(error).startswith(error.message)


def test_cli_hints_are_filled_from_the_details_and_keep_the_cores_notes() -> None:
    offer = UnknownOffer("asset 7 has no offer 3", hint="show asset 7 to see its offers",
                         details={"asset_id": 7, "offer_id": 3})
    assert cli_hint(offer) == "`datadao assets show 7` lists its offers"
    bare = UnknownOffer("asset 7 has no offer 3", hint="show asset 7 to see its offers")
    assert cli_hint(bare) == bare.hint  # without the details the CLI's words need: the core's
    offer.hint = f"{offer.hint}; nothing was published on chain"
    offer.add_note("nothing was published on chain")  # as the publish pipeline does
    assert cli_hint(offer) == ("`datadao assets show 7` lists its offers; "
                               "nothing was published on chain")


def test_every_cli_hint_is_for_a_code_the_core_raises() -> None:
    sources = "\n".join(path.read_text() for path in DAPP.rglob("*.py")
                        if path.relative_to(DAPP).parts[0] != "cli")
    raised = set(re.findall(r"""\bcode = "([a-z0-9-]+)\"""", sources))
    assert set(CODE_HINTS) <= raised


def _module_strings(tree: ast.Module) -> dict[str, list[ast.expr]]:
    """Module-level `NAME = "..."` (or a call-free expression), for hints kept in a constant."""
    constants: dict[str, list[ast.expr]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants.setdefault(target.id, []).append(node.value)
    return constants


def _sets_a_hint(node: ast.AST) -> bool:
    """`hint=…` in a call, or `… .hint = …`."""
    if isinstance(node, ast.keyword):
        return node.arg == "hint"
    return isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Attribute) and target.attr == "hint" for target in node.targets)


def _said_to_people(tree: ast.Module) -> Iterator[ast.expr]:
    """What reaches a user as an error: everything a `raise` builds, every `hint=`, every
    `.hint = …` and `add_note(…)`, and the module constants any of these name."""
    spoken: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            spoken.append(node.exc)
        elif _sets_a_hint(node):
            spoken.append(cast(ast.keyword | ast.Assign, node).value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "add_note":
            spoken.extend(node.args)
    constants = _module_strings(tree)
    for expression in spoken:
        yield expression
        for name in ast.walk(expression):
            if isinstance(name, ast.Name):
                yield from constants.get(name.id, [])


def _strings(expression: ast.expr) -> Iterator[str]:
    for node in ast.walk(expression):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def test_no_error_below_the_cli_names_a_flag_or_a_datadao_command() -> None:
    found = []
    for path in sorted(DAPP.rglob("*.py")):
        relative = path.relative_to(DAPP)
        if relative.parts[0] in SPEAKS_CLI:
            continue
        for expression in _said_to_people(ast.parse(path.read_text(), str(path))):
            for text in _strings(expression):
                for match in CLI_WORDS.finditer(text):
                    word = text[match.start():].split()[0]
                    if (relative.as_posix(), word) not in WHITELIST:
                        found.append(f"{relative}:{expression.lineno}: {text!r}")
    assert not found, ("core errors speak the CLI; say it in words any client can act on, "
                       "and the CLI's words in dapp/cli/hints.py:\n" + "\n".join(found))


def test_the_guard_sees_a_flag_in_a_hint_and_in_a_message() -> None:
    tree = ast.parse('HINT = "pass --account NAME"\n'
                     'def f():\n'
                     '    raise E(f"{x} is wrong", hint=HINT)\n'
                     'def g():\n'
                     '    raise E("`datadao assets ls` lists them")\n')
    texts = {text for expression in _said_to_people(tree) for text in _strings(expression)}
    assert {text for text in texts if CLI_WORDS.search(text)} == {
        "pass --account NAME", "`datadao assets ls` lists them"}
    assert all(WHITELIST.values())  # every exception says why


#: the contracts the CLI sends to, by the interfaces that declare their custom errors
CLI_CONTRACT_ABIS = ("IAssetRegistry", "IComputeMarket", "IPaymentTokenAllowlist",
                     "ILicenseOracle", "ILicenseTokens")
#: the ERC-1155 errors a holder can hit moving a licence token (`datadao license transfer`)
LICENCE_TOKEN_ERRORS = ("ERC1155InsufficientBalance", "ERC1155InvalidReceiver",
                        "ERC1155MissingApprovalForAll")
#: the token's errors a CLI user can hit (the rest are the token's own business)
TOKEN_ERRORS = ("ERC20InsufficientBalance", "ERC20InsufficientAllowance")


def _declared_errors() -> dict[str, list[set[str]]]:
    """Every custom error those contracts declare: its argument names, per declaration (the
    registry and the market declare some names with other arguments)."""
    errors: dict[str, list[set[str]]] = {}
    token = [e for e in load_abi("TestToken") if e.get("name") in TOKEN_ERRORS]
    token += [e for e in load_abi("LicenseTokens") if e.get("name") in LICENCE_TOKEN_ERRORS]
    for entry in [*token, *(e for name in CLI_CONTRACT_ABIS for e in load_abi(name))]:
        if entry["type"] == "error":
            errors.setdefault(entry["name"], []).append({i["name"] for i in entry["inputs"]})
    return errors


def test_every_custom_error_the_cli_can_meet_has_a_hint_in_words_it_can_fill() -> None:
    declared = _declared_errors()
    assert "StillUnbonding" in declared and "NotLicensed" in declared
    assert sorted(set(declared) - set(REVERT_HINTS)) == []
    for name, declarations in declared.items():
        fields = {field for _, field, _, _ in string.Formatter().parse(REVERT_HINTS[name])
                  if field}
        for arguments in declarations:  # filled whichever contract raised it
            assert fields <= arguments, (name, fields - arguments)


def test_a_revert_is_said_in_words_with_its_moments_as_dates() -> None:
    decoder = ErrorDecoder([load_abi("AssetRegistry"), load_abi("ComputeMarket")])
    selector = function_signature_to_4byte_selector("StillUnbonding(uint64)")
    unbonding = decoder.reverted("withdrawing stake", selector + encode(["uint64"],
                                                                         [1796763292]))
    assert cli_message(unbonding) == (
        "withdrawing stake reverted with StillUnbonding(availableAt=1796763292) (the stake is "
        "still unbonding: it can be withdrawn from 2026-12-08 20:54:52 UTC)")
    nothing = decoder.reverted("claiming", function_signature_to_4byte_selector(
        "NothingToWithdraw()"))
    assert "nothing to withdraw or claim for this account yet" in cli_message(nothing)
