// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @notice Test-only hostile EIP-1271 "wallet": `isValidSignature` spins until it runs out of
/// gas, so whoever asks it pays for a full `eth_call` (the gateway must cap the gas it grants).
contract GasBurningWallet is IERC1271 {
    /// @notice Never answers: loops over storage reads until the call's gas is gone.
    function isValidSignature(bytes32 hash, bytes calldata) external view returns (bytes4) {
        uint256 spin = uint256(hash);
        while (gasleft() > 0) {
            spin = uint256(keccak256(abi.encode(spin, address(this).balance)));
        }
        return bytes4(uint32(spin));
    }
}
