"""ComputeMarket providers: registration, updates, stake, exit with an unbonding delay, pause."""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from compute_helpers import *  # noqa: F403 (fixtures)
from compute_helpers import (
    DAY,
    ENDPOINT,
    EXIT_DELAY,
    MIN_STAKE,
    PARAMS,
    PROVIDER_FEE,
    STAKE,
    TOKEN,
    as_dict,
    err,
)


def test_register_pulls_stake_and_records_provider(market, token, provider):
    before = token.balanceOf(provider)
    tx = market.registerProvider(ENDPOINT, token, PROVIDER_FEE, STAKE, {"from": provider})
    assert token.balanceOf(provider) == before - STAKE
    assert token.balanceOf(market) == STAKE
    info = as_dict(market.getProvider(provider))
    assert info["priceToken"] == token
    assert info["price"] == PROVIDER_FEE
    assert info["stake"] == STAKE
    assert info["locked"] == 0
    assert info["exitAt"] == 0
    assert info["endpoint"] == ENDPOINT
    assert tx.events["ProviderRegistered"]["provider"] == provider
    assert tx.events["ProviderRegistered"]["stake"] == STAKE


def test_register_below_min_stake_reverts(market, token, provider):
    with brownie.reverts(err("InsufficientStake", provider, MIN_STAKE - 1, MIN_STAKE)):
        market.registerProvider(ENDPOINT, token, PROVIDER_FEE, MIN_STAKE - 1, {"from": provider})


def test_register_twice_reverts(market, token, registered):
    with brownie.reverts(err("AlreadyRegistered", registered)):
        market.registerProvider(ENDPOINT, token, PROVIDER_FEE, STAKE, {"from": registered})


def test_register_needs_allowed_token_and_endpoint(market, token, provider, TestToken, admin):
    other = TestToken.deploy("Other", "OTH", {"from": admin})
    with brownie.reverts(err("TokenNotAllowed", other)):
        market.registerProvider(ENDPOINT, other, PROVIDER_FEE, STAKE, {"from": provider})
    with brownie.reverts("EmptyEndpoint: "):
        market.registerProvider("", token, PROVIDER_FEE, STAKE, {"from": provider})


def test_update_endpoint_and_price(market, token, registered):
    tx = market.updateProvider("https://new.example", token, 7 * TOKEN, {"from": registered})
    info = as_dict(market.getProvider(registered))
    assert info["endpoint"] == "https://new.example"
    assert info["price"] == 7 * TOKEN
    assert tx.events["ProviderUpdated"]["price"] == 7 * TOKEN


def test_update_unregistered_reverts(market, token, stranger):
    with brownie.reverts(err("UnknownProvider", stranger)):
        market.updateProvider(ENDPOINT, token, 1, {"from": stranger})


def test_add_stake(market, token, registered):
    tx = market.addStake(50 * TOKEN, {"from": registered})
    assert market.getProvider(registered).dict()["stake"] == STAKE + 50 * TOKEN
    assert token.balanceOf(market) == STAKE + 50 * TOKEN
    assert tx.events["StakeAdded"]["stake"] == STAKE + 50 * TOKEN
    with brownie.reverts("ZeroAmount: "):
        market.addStake(0, {"from": registered})


def test_exit_waits_for_unbonding_delay(market, token, registered):
    with brownie.reverts(err("NotExiting", registered)):
        market.withdrawStake({"from": registered})
    tx = market.requestExit({"from": registered})
    available_at = tx.return_value
    assert available_at == tx.timestamp + EXIT_DELAY
    assert tx.events["ExitRequested"]["availableAt"] == available_at
    with brownie.reverts(err("ProviderExiting", registered)):
        market.requestExit({"from": registered})
    with brownie.reverts(err("StillUnbonding", available_at)):
        market.withdrawStake({"from": registered})
    chain.sleep(EXIT_DELAY + 1)
    chain.mine()
    before = token.balanceOf(registered)
    tx = market.withdrawStake({"from": registered})
    assert tx.return_value == STAKE
    assert token.balanceOf(registered) == before + STAKE
    assert token.balanceOf(market) == 0
    assert market.getProvider(registered).dict()["stake"] == 0
    with brownie.reverts("ZeroAmount: "):
        market.withdrawStake({"from": registered})


def test_exiting_provider_takes_no_channels_until_cancelled(market, token, registered, buyer):
    market.requestExit({"from": registered})
    with brownie.reverts(err("ProviderExiting", registered)):
        market.openChannel(registered, token, TOKEN, chain[-1].timestamp + 3600, {"from": buyer})
    tx = market.cancelExit({"from": registered})
    assert "ExitCancelled" in tx.events
    market.openChannel(registered, token, TOKEN, chain[-1].timestamp + 3600, {"from": buyer})
    with brownie.reverts(err("NotExiting", registered)):
        market.cancelExit({"from": registered})


def test_pause_stops_registration_but_not_exit(market, token, registered, provider2, admin):
    market.requestExit({"from": registered})
    market.pause({"from": admin})
    with brownie.reverts("EnforcedPause: "):
        market.registerProvider(ENDPOINT, token, PROVIDER_FEE, STAKE, {"from": provider2})
    chain.sleep(EXIT_DELAY + 1)
    chain.mine()
    market.withdrawStake({"from": registered})
    with brownie.reverts():
        market.pause({"from": registered})


def test_params_admin_only(market, admin, stranger):
    assert tuple(market.params()) == PARAMS and market.paramsId() == 1
    with brownie.reverts():
        market.setParams(PARAMS, {"from": stranger})
    with brownie.reverts("InvalidParams: "):
        market.setParams((1, 0, 3600, DAY, 5, 6, 0), {"from": admin})
    new = (1, 3600, 3600, DAY, 5, 6, 7)
    tx = market.setParams(new, {"from": admin})
    assert tuple(market.params()) == new and market.paramsId() == 2
    assert tuple(market.paramsAt(1)) == PARAMS and tuple(market.paramsAt(2)) == new
    assert tx.events["ParamsSet"]["paramsId"] == 2


@pytest.mark.parametrize(
    "index,value",
    [
        (1, 3599),  # maxJobDuration below an hour
        (1, 365 * DAY + 1),
        (2, 3599),  # challengeWindow below an hour
        (2, 30 * DAY + 1),
        (3, DAY - 1),  # arbitrationPeriod below a day
        (3, 60 * DAY + 1),
        (4, 90 * DAY + 1),  # exitDelay over 90 days
        (6, 5001),  # disputeBondBps over 50 %
    ],
)
def test_params_bounds(market, admin, index, value):
    bad = list(PARAMS)
    bad[index] = value
    with brownie.reverts("InvalidParams: "):
        market.setParams(tuple(bad), {"from": admin})


def test_domain_and_interfaces(market, registry, token):
    assert market.registry() == registry
    assert market.stakeToken() == token
    assert market.eip712Domain()[1] == "DataDAO ComputeMarket"
    assert market.eip712Domain()[2] == "1"
    assert market.supportsInterface("0x01ffc9a7")
