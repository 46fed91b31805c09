// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {OwnedSmartWallet} from "./OwnedSmartWallet.sol";

/// @notice Test-only EIP-1271 wallet that can also act: its owner makes it call any contract
/// (e.g. open a payment channel whose vouchers the owner then signs for the wallet).
contract ExecutingSmartWallet is OwnedSmartWallet {
    error NotOwner();
    error CallFailed(bytes reason);

    constructor(address owner_) OwnedSmartWallet(owner_) {}

    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert NotOwner();
        (bool ok, bytes memory result) = target.call(data);
        if (!ok) revert CallFailed(result);
        return result;
    }
}
