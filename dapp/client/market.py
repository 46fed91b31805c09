"""What a buyer's market clients share: the ComputeMarket of a deployment, fresh reads,
and sends signed locally by the buyer's `TransactionSender` that approve the market first
when the allowance is short."""

from __future__ import annotations

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from dapp.chain.contracts import bind, load_abi
from dapp.chain.deployments import Deployment
from dapp.chain.transactions import SentTransaction, TransactionSender
from dapp.errors import AccountNeeded
from dapp.market.reader import MarketReader

MARKET = "ComputeMarket"
TOKEN_ABI = "TestToken"  # any ERC-20: approve / allowance / symbol / decimals


class MarketAccount:
    """The ComputeMarket as one account uses it (reads need no sender)."""

    def __init__(self, web3: Web3, deployment: Deployment,
                 sender: TransactionSender | None = None) -> None:
        self.web3 = web3
        self.market: Contract = bind(web3, deployment, MARKET)
        self.deployed_block = deployment.contract(MARKET).block  # where its logs start
        self.reader = MarketReader(web3, self.market.address)  # every read asks fresh=True
        self.sender = sender

    @property
    def address(self) -> str:
        return str(self.market.address)

    @property
    def account_address(self) -> str:
        """The address this client sends as (AccountNeeded without a sender)."""
        return str(self._sender().address)

    def chain_time(self) -> int:
        return int(self.web3.eth.get_block("latest")["timestamp"])

    def _ensure_allowance(self, token: str, amount: int) -> None:
        erc20 = self.web3.eth.contract(address=Web3.to_checksum_address(token),
                                       abi=load_abi(TOKEN_ABI))
        self._sender().approve_if_short(erc20, self.address, amount,
                                        "approving the market for the payment")

    def _send(self, function: ContractFunction, what: str) -> SentTransaction:
        return self._sender().send(function, what)

    def _sender(self) -> TransactionSender:
        if self.sender is None:
            raise AccountNeeded("this needs an account")
        return self.sender
