// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Smallest contract that proves the toolchain: solcjs wrapper + OpenZeppelin from npm.
contract Toolchain is ERC20 {
    constructor() ERC20("Toolchain", "TOOL") {
        _mint(msg.sender, 1e18);
    }
}
