// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Dev-chain ERC-20 that can be switched to revert on every call that moves or reads
/// balances, as a paused, blacklisting or upgraded-to-broken token would.
contract BrokenToken is ERC20 {
    bool public broken;

    error TokenBroken();

    constructor() ERC20("Broken Token", "BRK") {}

    /// @notice Mint test tokens to anyone (dev chains only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Make every transfer and balance read revert (true) or work again (false).
    function setBroken(bool broken_) external {
        broken = broken_;
    }

    /// @notice Reverts while broken.
    function balanceOf(address account) public view override returns (uint256) {
        if (broken) revert TokenBroken();
        return super.balanceOf(account);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (broken) revert TokenBroken();
        super._update(from, to, value);
    }
}
