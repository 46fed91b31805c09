// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title MinimalProxy
/// @notice EIP-1167 minimal proxies made with CREATE2, and their addresses in advance.
/// @dev Written here instead of importing OpenZeppelin's `proxy/Clones.sol`: in 5.4 that file also
/// holds the immutable-args variants, whose `mcopy` (Cancun) does not compile for shanghai. The
/// 55-byte creation code is EIP-1167's, verbatim: a 10-byte constructor that returns the 45-byte
/// runtime `363d3d373d3d3d363d73<implementation>5af43d82803e903d91602b57fd5bf3`.
library MinimalProxy {
    error CloneFailed();

    /// @dev Deploys a clone of `implementation` at the address fixed by `salt` (reverts if taken).
    function cloneDeterministic(address implementation, bytes32 salt) internal returns (address instance) {
        bytes memory code = _creationCode(implementation);
        assembly ("memory-safe") {
            instance := create2(0, add(code, 0x20), mload(code), salt)
        }
        if (instance == address(0)) revert CloneFailed();
    }

    /// @dev The address `cloneDeterministic(implementation, salt)` deploys to when `deployer` calls it.
    function predictDeterministicAddress(address implementation, bytes32 salt, address deployer)
        internal
        pure
        returns (address)
    {
        bytes32 digest = keccak256(abi.encodePacked(bytes1(0xff), deployer, salt, keccak256(_creationCode(implementation))));
        return address(uint160(uint256(digest)));
    }

    function _creationCode(address implementation) private pure returns (bytes memory) {
        return abi.encodePacked(
            hex"3d602d80600a3d3981f3363d3d373d3d3d363d73", implementation, hex"5af43d82803e903d91602b57fd5bf3"
        );
    }
}
