"""The toolchain itself: solcjs wrapper + OpenZeppelin from npm, deployed and called."""
from brownie import Toolchain, accounts


def test_compiled_openzeppelin_token_deploys_and_answers():
    token = Toolchain.deploy({"from": accounts[0]})
    assert token.symbol() == "TOOL"
    assert token.balanceOf(accounts[0]) == 10**18
    token.transfer(accounts[1], 5, {"from": accounts[0]})
    assert token.balanceOf(accounts[1]) == 5
