"""The AssetRegistry and its payment tokens as a publisher, buyer or curator uses them: typed
reads, and writes sent through a `TransactionSender` (approvals included when needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from eth_account.messages import encode_typed_data
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from dapp.chain.client import chain_status
from dapp.chain.constants import AssetKind, Scope
from dapp.chain.contracts import bind, load_abi
from dapp.chain.deployments import Deployment, load_deployment
from dapp.chain.eip712 import permit_typed_data
from dapp.chain.transactions import (
    ErrorDecoder,
    SentTransaction,
    TransactionSender,
    chain_errors,
    revert_data,
)
from dapp.config import Settings
from dapp.errors import AccountNeeded, InvalidInput, NotFound, UnknownAsset
from dapp.ipfs.cid import cid_from_chain, cid_to_chain
from dapp.store.catalog import OfferView

REGISTRY = "AssetRegistry"
DEFAULT_TOKEN = "TestToken"
LICENSE_TOKENS = "LicenseTokens"
PERMIT_LIFETIME_SECONDS = 3600
#: The registry's buy takes every term the buyer pays for; the 4-argument overload left in the
#: ABI only reverts (`OfferTermsRequired`), so the function is chosen by its signature.
BUY_SIGNATURE = "buy(uint256,uint256,address,address,uint256,uint64,uint8)"
# A stand-in CID for dry runs (estimation) before the real ones exist: any non-zero digest.
PLACEHOLDER_CID = (b"\x01" * 32, 0x55)


class UnknownOffer(NotFound):
    code = "unknown-offer"


class OwnerAccountNeeded(InvalidInput):
    """The signing account is not the owner of the asset it would change."""

    code = "owner-account-needed"


@dataclass(frozen=True)
class TokenInfo:
    address: str
    symbol: str
    decimals: int


@dataclass(frozen=True)
class OfferTerms:
    token: str
    price: int  # base units
    duration: int  # seconds, 0 = perpetual
    scope: int  # IAssetRegistry.Scope

    def as_input(self) -> tuple[str, int, int, int]:
        return (Web3.to_checksum_address(self.token), self.price, self.duration, self.scope)


@dataclass(frozen=True)
class StakeView:
    """A curator's stake on one asset: `active` earns; `warming` earns from `active_at`
    (0: nothing warming up); `unbonding` can be withdrawn from `available_at`."""

    active: int
    warming: int
    active_at: int
    unbonding: int
    available_at: int


@dataclass(frozen=True)
class AssetView:
    asset_id: int
    owner: str
    kind: str
    retired: bool
    curator_share_bps: int
    version_count: int
    content_cid: str
    metadata_cid: str
    published_at: int
    total_staked: int
    offers: list[OfferView] = field(default_factory=list)


def chain_cid(text: str) -> tuple[bytes, int]:
    return cid_to_chain(text)


class Exchange:
    """The registry on one chain; `sender` is needed only for writes."""

    def __init__(self, web3: Web3, deployment: Deployment,
                 sender: TransactionSender | None = None) -> None:
        self.web3 = web3
        self.deployment = deployment
        self.registry: Contract = bind(web3, deployment, REGISTRY)
        self.sender = sender
        self._tokens: dict[str, TokenInfo] = {}

    @classmethod
    def connect(cls, settings: Settings, web3: Web3) -> Exchange:
        with chain_errors(settings.chain_rpc_url):
            chain_id = chain_status(web3).chain_id
        return cls(web3, load_deployment(settings.resolved_deployments_file, chain_id))

    @staticmethod
    def error_decoder() -> ErrorDecoder:
        return ErrorDecoder([load_abi(REGISTRY), load_abi(DEFAULT_TOKEN)])

    def with_sender(self, sender: TransactionSender) -> Exchange:
        bound = Exchange(self.web3, self.deployment, sender)
        bound._tokens = self._tokens
        return bound

    def _send(self, function: ContractFunction, what: str) -> SentTransaction:
        if self.sender is None:
            raise AccountNeeded(f"{what} needs an account")
        return self.sender.send(function, what)

    @contextmanager
    def _rpc(self) -> Iterator[None]:
        """RPC failures as `ChainUnavailable`, reverted reads as `TransactionReverted`."""
        with chain_errors(self.web3.provider.endpoint_uri):  # type: ignore[attr-defined]
            try:
                yield
            except ContractLogicError as error:
                raise self.error_decoder().reverted(
                    "reading the registry", revert_data(error),
                    fallback=str(error.message)) from None

    # ---- tokens --------------------------------------------------------------------------
    @property
    def default_token(self) -> str:
        """The dev chain's TestToken; on a network deployment (no test token, docs/DEPLOY.md)
        the registry's first payment token."""
        if DEFAULT_TOKEN in self.deployment.contracts:
            return str(self.deployment.contract(DEFAULT_TOKEN).address)
        tokens = self.payment_tokens()
        if not tokens:
            raise InvalidInput("the registry allows no payment token",
                               hint="its admin (the timelock) must allow one")
        return tokens[0]

    def token_contract(self, address: str) -> Contract:
        return self.web3.eth.contract(address=Web3.to_checksum_address(address),
                                      abi=load_abi(DEFAULT_TOKEN))

    def token(self, address: str | None = None) -> TokenInfo:
        """Symbol and decimals of an ERC-20 (default: the deployment's TestToken)."""
        checksum = Web3.to_checksum_address(address or self.default_token)
        if checksum not in self._tokens:
            contract = self.token_contract(checksum)
            with self._rpc():
                try:
                    info = TokenInfo(checksum, contract.functions.symbol().call(),
                                     int(contract.functions.decimals().call()))
                except Exception as error:  # not an ERC-20 at that address
                    if isinstance(error, OSError):
                        raise
                    raise InvalidInput(f"{checksum} is not an ERC-20 token on this chain") \
                        from None
            self._tokens[checksum] = info
        return self._tokens[checksum]

    def resolve_token(self, text: str | None) -> TokenInfo:
        """An address, a deployment name ('TestToken') or a symbol of a payment token."""
        if not text:
            return self.token()
        if Web3.is_address(text):
            return self.token(text)
        if text in self.deployment.contracts:
            return self.token(self.deployment.contract(text).address)
        for address in self.payment_tokens():
            if self.token(address).symbol.lower() == text.lower():
                return self.token(address)
        raise InvalidInput(f"no payment token {text!r}",
                           hint="give its address, or one of the registry's payment tokens")

    def payment_tokens(self) -> list[str]:
        with self._rpc():
            return [str(a) for a in self.registry.functions.paymentTokens().call()]

    def is_payment_token(self, address: str) -> bool:
        with self._rpc():
            return bool(self.registry.functions.isPaymentToken(
                Web3.to_checksum_address(address)).call())

    def balance_of(self, token: str, account: str) -> int:
        with self._rpc():
            return int(self.token_contract(token).functions.balanceOf(account).call())

    def _ensure_allowance(self, token: str, amount: int) -> SentTransaction | None:
        assert self.sender is not None
        return self.sender.approve_if_short(self.token_contract(token), self.registry.address,
                                            amount, f"approving {self.token(token).symbol}")

    # ---- reads ---------------------------------------------------------------------------
    def asset_count(self) -> int:
        with self._rpc():
            return int(self.registry.functions.assetCount().call())

    def asset(self, asset_id: int) -> AssetView:
        functions = self.registry.functions
        if not 1 <= asset_id <= self.asset_count():
            raise UnknownAsset(f"asset {asset_id} does not exist",
                               hint="list the assets to find its id",
                               details={"asset_id": asset_id})
        with self._rpc():
            kind, retired, share, version_count, offer_count = \
                functions.assetInfo(asset_id).call()
            (content, metadata, published_at) = functions.latestVersion(asset_id).call()
            owner = functions.ownerOf(asset_id).call()
            staked = functions.totalStaked(asset_id).call()
            offers = [self.offer(asset_id, offer_id) for offer_id in range(1, offer_count + 1)]
        return AssetView(
            asset_id=asset_id, owner=str(owner), kind=AssetKind.label_of(kind),
            retired=bool(retired),
            curator_share_bps=int(share), version_count=int(version_count),
            content_cid=cid_from_chain(*content), metadata_cid=cid_from_chain(*metadata),
            published_at=int(published_at), total_staked=int(staked), offers=offers)

    def offer(self, asset_id: int, offer_id: int) -> OfferView:
        with self._rpc():
            token, price, duration, scope, active = \
                self.registry.functions.offer(asset_id, offer_id).call()
        return OfferView(offer_id, str(token), int(price), int(duration), Scope.label_of(scope),
                         bool(active))

    def payout_balance(self, account: str, token: str) -> int:
        with self._rpc():
            return int(self.registry.functions.payoutBalance(account, token).call())

    def stake_of(self, asset_id: int, account: str) -> tuple[int, int, int]:
        with self._rpc():
            active, unbonding, available_at = \
                self.registry.functions.stakeOf(asset_id, account).call()
        return int(active), int(unbonding), int(available_at)

    def stake_view(self, asset_id: int, account: str) -> StakeView:
        """Earning, warming and unbonding stake of `account` on the asset, as the chain says."""
        active, unbonding, available_at = self.stake_of(asset_id, account)
        with self._rpc():
            warming, active_at = \
                self.registry.functions.warmingStake(asset_id, account).call()
        return StakeView(active, int(warming), int(active_at), unbonding, available_at)

    def pending_curator_share(self, asset_id: int) -> tuple[int, int]:
        """(bps, effectiveAt) of a scheduled cut of the curators' share; effectiveAt 0: none."""
        with self._rpc():
            bps, effective_at = self.registry.functions.pendingCuratorShare(asset_id).call()
        return int(bps), int(effective_at)

    def earned(self, asset_id: int, account: str, token: str) -> int:
        with self._rpc():
            return int(self.registry.functions.earned(asset_id, account, token).call())

    def staking_token(self) -> str:
        with self._rpc():
            return str(self.registry.functions.stakingToken().call())

    def license_expiry(self, asset_id: int, account: str, scope: int) -> int:
        with self._rpc():
            return int(self.registry.functions.licenseExpiry(asset_id, account, scope).call())

    # ---- publishing ----------------------------------------------------------------------
    def publish_call(self, kind: int, content_cid: str | tuple[bytes, int],
                     metadata_cid: str | tuple[bytes, int], curator_share_bps: int,
                     offers: Sequence[OfferTerms]) -> ContractFunction:
        content = content_cid if isinstance(content_cid, tuple) else chain_cid(content_cid)
        metadata = metadata_cid if isinstance(metadata_cid, tuple) else chain_cid(metadata_cid)
        return self.registry.functions.publish(
            kind, content, metadata, curator_share_bps, [o.as_input() for o in offers])

    def check_publish(self, kind: int, curator_share_bps: int,
                      offers: Sequence[OfferTerms]) -> None:
        """Dry-run `publish` with stand-in CIDs: a revert shows up before any upload."""
        assert self.sender is not None
        call = self.publish_call(kind, PLACEHOLDER_CID, PLACEHOLDER_CID, curator_share_bps,
                                 offers)
        self.sender.estimate(call, "publishing")

    def publish(self, kind: int, content_cid: str, metadata_cid: str, curator_share_bps: int,
                offers: Sequence[OfferTerms]) -> tuple[int, SentTransaction]:
        sent = self._send(self.publish_call(kind, content_cid, metadata_cid,
                                            curator_share_bps, offers), "publishing")
        (event,) = self.registry.events.AssetPublished().process_receipt(sent.receipt,
                                                                         errors=DISCARD)
        return int(event["args"]["assetId"]), sent

    def check_owner(self, asset_id: int) -> None:
        assert self.sender is not None
        owner = self.asset(asset_id).owner
        if owner.lower() != self.sender.address.lower():
            raise OwnerAccountNeeded(
                f"asset {asset_id} belongs to {owner}, not {self.sender.address}",
                hint="sign with the asset owner's account",
                details={"asset_id": asset_id, "owner": owner})

    @property
    def license_tokens(self) -> Contract | None:
        """LicenseTokens, when the deployment has it."""
        if LICENSE_TOKENS not in self.deployment.contracts:
            return None
        return bind(self.web3, self.deployment, LICENSE_TOKENS)

    def set_marketplace_uris(self, asset_id: int, asset_uri: str, licence_uri: str
                             ) -> SentTransaction | None:
        """Point the asset NFT's `tokenURI` and its licence tokens' `uri` at these documents
        (None: this deployment has no LicenseTokens)."""
        tokens = self.license_tokens
        if tokens is None:
            return None
        return self._send(tokens.functions.setMetadata(asset_id, asset_uri, licence_uri),
                          "setting the marketplace documents")

    def add_version(self, asset_id: int, content_cid: str, metadata_cid: str
                    ) -> tuple[int, SentTransaction]:
        sent = self._send(self.registry.functions.addVersion(
            asset_id, chain_cid(content_cid), chain_cid(metadata_cid)), "adding a version")
        (event,) = self.registry.events.VersionAdded().process_receipt(sent.receipt,
                                                                       errors=DISCARD)
        return int(event["args"]["version"]), sent

    # ---- offers --------------------------------------------------------------------------
    def set_offer(self, asset_id: int, offer_id: int | None, terms: OfferTerms
                  ) -> tuple[int, SentTransaction]:
        """Replace offer `offer_id`, or add one when it is None."""
        if offer_id is None:
            with self._rpc():
                offer_id = int(self.registry.functions.assetInfo(asset_id).call()[4]) + 1
        sent = self._send(self.registry.functions.setOffer(asset_id, offer_id,
                                                           terms.as_input()),
                          f"setting offer {offer_id} of asset {asset_id}")
        return offer_id, sent

    def set_offer_active(self, asset_id: int, offer_id: int, active: bool) -> SentTransaction:
        verb = "resuming" if active else "pausing"
        return self._send(self.registry.functions.setOfferActive(asset_id, offer_id, active),
                          f"{verb} offer {offer_id} of asset {asset_id}")

    # ---- compute policy (a dataset owner's) ----------------------------------------------
    def trust_algorithm(self, dataset_id: int, algorithm_id: int, version: int
                        ) -> SentTransaction:
        return self._send(self.registry.functions.trustAlgorithm(dataset_id, algorithm_id,
                                                                 version),
                          f"listing algorithm {algorithm_id} on dataset {dataset_id}")

    def untrust_algorithm(self, dataset_id: int, algorithm_id: int) -> SentTransaction:
        return self._send(self.registry.functions.untrustAlgorithm(dataset_id, algorithm_id),
                          f"removing algorithm {algorithm_id} from dataset {dataset_id}")

    def set_compute_policy(self, dataset_id: int, any_algorithm: bool, max_result_bytes: int,
                           log_tail_bytes: int) -> SentTransaction:
        return self._send(self.registry.functions.setComputePolicy(
            dataset_id, any_algorithm, max_result_bytes, log_tail_bytes),
                          f"setting the compute policy of dataset {dataset_id}")

    # ---- money ---------------------------------------------------------------------------
    def withdraw(self, token: str) -> tuple[int, SentTransaction]:
        sent = self._send(self.registry.functions.withdraw(token),
                          f"withdrawing {self.token(token).symbol}")
        events = self.registry.events.Withdrawn().process_receipt(sent.receipt, errors=DISCARD)
        return sum(int(e["args"]["amount"]) for e in events), sent

    def stake(self, asset_id: int, amount: int) -> tuple[int, list[SentTransaction]]:
        """Stake `amount` (approving first if needed). Returns (activeAt, txs): the stake warms
        up until activeAt and earns only from then on — with any stake of this account still
        warming up, which restarts its warm-up."""
        approval = self._ensure_allowance(self.staking_token(), amount)
        sent = self._send(self.registry.functions.stake(asset_id, amount),
                          f"staking on asset {asset_id}")
        (event,) = self.registry.events.Staked().process_receipt(sent.receipt, errors=DISCARD)
        return int(event["args"]["activeAt"]), [tx for tx in (approval, sent) if tx is not None]

    def activate_stake(self, asset_id: int, staker: str) -> SentTransaction:
        """Move `staker`'s warmed-up stake into the earning weight (anyone may)."""
        return self._send(self.registry.functions.activateStake(
            asset_id, Web3.to_checksum_address(staker)),
            f"activating the stake of {staker} on asset {asset_id}")

    def request_unstake(self, asset_id: int, amount: int) -> tuple[int, SentTransaction]:
        sent = self._send(self.registry.functions.requestUnstake(asset_id, amount),
                          f"unstaking from asset {asset_id}")
        (event,) = self.registry.events.UnstakeRequested().process_receipt(sent.receipt,
                                                                           errors=DISCARD)
        return int(event["args"]["availableAt"]), sent

    def withdraw_stake(self, asset_id: int) -> tuple[int, SentTransaction]:
        sent = self._send(self.registry.functions.withdrawStake(asset_id),
                          f"withdrawing stake from asset {asset_id}")
        events = self.registry.events.StakeWithdrawn().process_receipt(sent.receipt,
                                                                       errors=DISCARD)
        return sum(int(e["args"]["amount"]) for e in events), sent

    def claim(self, asset_id: int) -> tuple[dict[str, int], SentTransaction]:
        sent = self._send(self.registry.functions.claim(asset_id),
                          f"claiming rewards of asset {asset_id}")
        claimed: dict[str, int] = {}
        for event in self.registry.events.RewardClaimed().process_receipt(sent.receipt,
                                                                          errors=DISCARD):
            token = str(event["args"]["token"])
            claimed[token] = claimed.get(token, 0) + int(event["args"]["amount"])
        return claimed, sent

    def claim_reward(self, asset_id: int, token: str, to: str) -> tuple[int, SentTransaction]:
        """Claim the rewards of one payment token, paid to `to`: a token that reverts blocks
        only itself (`claim` is all or nothing)."""
        sent = self._send(self.registry.functions.claimReward(
            asset_id, Web3.to_checksum_address(token), Web3.to_checksum_address(to)),
            f"claiming {self.token(token).symbol} rewards of asset {asset_id}")
        events = self.registry.events.RewardClaimed().process_receipt(sent.receipt,
                                                                      errors=DISCARD)
        return sum(int(e["args"]["amount"]) for e in events), sent

    def quote(self, asset_id: int, offer_id: int) -> OfferView:
        """The offer as it stands now: what a buyer is shown and then commits to (`buy`)."""
        offers = self.asset(asset_id).offers
        if not 1 <= offer_id <= len(offers):
            raise UnknownOffer(f"asset {asset_id} has no offer {offer_id}",
                               hint=f"show asset {asset_id} to see its offers",
                               details={"asset_id": asset_id, "offer_id": offer_id})
        return offers[offer_id - 1]

    def buy_call(self, asset_id: int, shown: OfferView, licensee: str,
                 permit: tuple[int, int, int, bytes, bytes] | None = None) -> ContractFunction:
        """`buy` / `buyWithPermit` committed to the terms of the offer the buyer was shown:
        the registry refuses the sale (`OfferTermsChanged`, `PriceAboveMax`) if the owner has
        changed them since, so a buyer pays only for what it saw."""
        terms = (asset_id, shown.offer_id, Web3.to_checksum_address(licensee),
                 Web3.to_checksum_address(shown.token), shown.price, shown.duration,
                 int(Scope[shown.scope.upper()]))
        if permit is not None:
            return self.registry.functions.buyWithPermit(*terms, permit)
        return self.registry.get_function_by_signature(BUY_SIGNATURE)(*terms)

    def buy(self, asset_id: int, shown: OfferView, licensee: str | None = None,
            use_permit: bool = True) -> tuple[int, list[SentTransaction]]:
        """Buy the offer `shown` (read once with `quote`, never again here) on exactly its
        terms: one permit+buy transaction when the token supports EIP-2612, else approve (if
        needed) then buy. Returns (expiresAt, txs)."""
        assert self.sender is not None
        licensee = Web3.to_checksum_address(licensee or self.sender.address)
        what = f"buying offer {shown.offer_id} of asset {asset_id}"
        permit = self._permit(shown.token, shown.price) if use_permit and shown.price else None
        txs: list[SentTransaction] = []
        if permit is None and shown.price:
            approval = self._ensure_allowance(shown.token, shown.price)
            txs += [approval] if approval else []
        txs.append(self._send(self.buy_call(asset_id, shown, licensee, permit), what))
        (event,) = self.registry.events.LicensePurchased().process_receipt(txs[-1].receipt,
                                                                           errors=DISCARD)
        return int(event["args"]["expiresAt"]), txs

    def _permit(self, token: str, value: int) -> tuple[int, int, int, bytes, bytes] | None:
        """An EIP-2612 permit for the registry, or None if the token has no permit."""
        assert self.sender is not None
        contract = self.token_contract(token)
        with self._rpc():
            try:
                _, name, version, chain_id, verifying, _, _ = \
                    contract.functions.eip712Domain().call()
                nonce = contract.functions.nonces(self.sender.address).call()
            except Exception as error:  # no ERC-5267/2612: approve instead
                if isinstance(error, OSError):
                    raise
                return None
            # The chain's clock, not ours: a dev chain moved forward (or a skewed local clock)
            # would otherwise get a permit that is already expired and silently ignored.
            chain_now = int(self.web3.eth.get_block("latest")["timestamp"])
        deadline = max(int(time.time()), chain_now) + PERMIT_LIFETIME_SECONDS
        typed = permit_typed_data(
            name=name, version=version, chain_id=chain_id, token=verifying,
            owner=self.sender.address, spender=self.registry.address, value=value,
            nonce=nonce, deadline=deadline)
        signed = self.sender.account.sign_message(encode_typed_data(full_message=typed))
        return (value, deadline, signed.v, signed.r.to_bytes(32, "big"),
                signed.s.to_bytes(32, "big"))
