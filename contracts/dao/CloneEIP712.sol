// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

/// @title CloneEIP712
/// @notice EIP-712 domain for contracts used through minimal proxies: the domain name is the one
/// each clone was initialised with (kept in storage, as its hash) instead of the implementation's
/// constructor argument, and `verifyingContract` is the clone. `eip712Domain()` (ERC-5267) reports
/// the same domain that signatures are checked against.
/// @dev OpenZeppelin's EIP712 keeps the name in immutables, which every clone shares with its
/// implementation; it routes every signature check through the virtual `_hashTypedDataV4`, which
/// is overridden here. The version stays the implementation's immutable ("1").
abstract contract CloneEIP712 is EIP712 {
    bytes32 private constant _TYPE_HASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    bytes32 private _hashedDomainName;

    /// @dev The clone's domain name, as stored by the inheriting contract.
    function _domainName() internal view virtual returns (string memory);

    /// @dev Call once, from the initializer, with the name `_domainName()` will return.
    function _setDomainName(string memory name_) internal {
        _hashedDomainName = keccak256(bytes(name_));
    }

    /// @dev The clone's domain separator (rebuilt per call: chain id and address always current).
    function _cloneDomainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(_TYPE_HASH, _hashedDomainName, keccak256(bytes(_EIP712Version())), block.chainid, address(this))
        );
    }

    function _hashTypedDataV4(bytes32 structHash) internal view virtual override returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(_cloneDomainSeparator(), structHash);
    }

    /// @notice ERC-5267: the domain signatures for this contract are checked against.
    function eip712Domain()
        public
        view
        virtual
        override
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", _domainName(), _EIP712Version(), block.chainid, address(this), bytes32(0), new uint256[](0));
    }
}
