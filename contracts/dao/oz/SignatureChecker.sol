// SPDX-License-Identifier: MIT
// Based on @openzeppelin/contracts 5.4.0 (utils/cryptography/SignatureChecker.sol)
// The two functions the vendored Governor uses, without the ERC-7913 part whose `Bytes` import uses
// `mcopy` (Cancun) and does not compile for shanghai. Same code and behaviour as upstream.

pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @dev Signature verification for EOAs (ECDSA) and smart-contract wallets (ERC-1271).
library SignatureChecker {
    /// @dev True when `signature` is `signer`'s over `hash`: ERC-1271 if `signer` has code, ECDSA if not.
    function isValidSignatureNow(address signer, bytes32 hash, bytes memory signature) internal view returns (bool) {
        if (signer.code.length == 0) {
            (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, signature);
            return err == ECDSA.RecoverError.NoError && recovered == signer;
        } else {
            return isValidERC1271SignatureNow(signer, hash, signature);
        }
    }

    /// @dev True when the contract `signer` answers ERC-1271's magic value for `hash` and `signature`.
    function isValidERC1271SignatureNow(
        address signer,
        bytes32 hash,
        bytes memory signature
    ) internal view returns (bool) {
        (bool success, bytes memory result) = signer.staticcall(
            abi.encodeCall(IERC1271.isValidSignature, (hash, signature))
        );
        return (success &&
            result.length >= 32 &&
            abi.decode(result, (bytes32)) == bytes32(IERC1271.isValidSignature.selector));
    }
}
