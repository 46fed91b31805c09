"""The provider's stake, sized for jobs. Registration itself (approve + `registerProvider`
with the gateway's URL) is `dapp.gateway.metered.provider.ensure_provider_registered`, shared
with the metered calls; it stakes the market's minimum, and since every open job locks
`jobCollateral` of the stake, that backs only minimum / collateral jobs at once. The job
worker tops the stake up to the minimum plus `concurrent_jobs` collaterals.
"""

from __future__ import annotations

import logging

from web3.contract import Contract

from dapp.chain.contracts import load_abi
from dapp.publishing.transactions import TransactionSender

log = logging.getLogger("dapp.compute.provider")

#: open jobs the stake backs at once, beyond what the minimum stake backs
DEFAULT_CONCURRENT_JOBS = 8


def ensure_job_stake(sender: TransactionSender, market: Contract,
                     concurrent_jobs: int = DEFAULT_CONCURRENT_JOBS) -> int:
    """Top the registered provider's stake up to min stake + `concurrent_jobs` x collateral
    (or as far as its stake-token balance goes); returns the stake."""
    me = sender.address
    stake = int(market.functions.getProvider(me).call()[2])
    params = market.functions.params().call()
    collateral, min_stake = int(params[0]), int(params[5])
    wanted = min_stake + concurrent_jobs * collateral
    if stake >= wanted:
        return stake
    token = market.w3.eth.contract(address=market.functions.stakeToken().call(),
                                   abi=load_abi("TestToken"))
    amount = min(wanted - stake, int(token.functions.balanceOf(me).call()))
    if amount <= 0:
        log.warning("provider %s cannot add stake: no %s left", me, token.address)
        return stake
    sender.send(token.functions.approve(market.address, amount), "approve more provider stake")
    sender.send(market.functions.addStake(amount), "add provider stake for jobs")
    log.info("provider %s staked %d more for up to %d concurrent jobs", me, amount,
             concurrent_jobs)
    return stake + amount
