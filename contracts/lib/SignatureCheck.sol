// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @notice OpenZeppelin's `SignatureChecker.isValidSignatureNow` without its `utils/Bytes.sol`
/// dependency (which needs `mcopy`, unavailable for shanghai): an ECDSA signature by `signer`, or
/// else, when `signer` has code, whatever its ERC-1271 `isValidSignature` accepts. ERC-1271 is asked
/// at the time of the call: a wallet may stop accepting a signature it accepted before.
library SignatureCheck {
    bytes32 private constant S_MASK = 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff;

    function isValidSignatureNow(address signer, bytes32 hash, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        if (signature.length == 65) {
            (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(hash, signature);
            if (error == ECDSA.RecoverError.NoError && recovered == signer) return true;
        }
        return isValidERC1271SignatureNow(signer, hash, signature);
    }

    /// @notice An EIP-2098 compact signature (r, vs) by `signer`; for a contract `signer`, its
    /// ERC-1271 check of the same signature expanded to 65 bytes (r, s, v).
    function isValidCompactSignatureNow(address signer, bytes32 hash, bytes32 r, bytes32 vs)
        internal
        view
        returns (bool)
    {
        (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(hash, r, vs);
        if (error == ECDSA.RecoverError.NoError && recovered == signer) return true;
        if (signer.code.length == 0) return false;
        uint8 v = uint8((uint256(vs) >> 255) + 27);
        return isValidERC1271SignatureNow(signer, hash, abi.encodePacked(r, vs & S_MASK, v));
    }

    function isValidERC1271SignatureNow(address signer, bytes32 hash, bytes memory signature)
        internal
        view
        returns (bool)
    {
        if (signer.code.length == 0) return false;
        (bool success, bytes memory result) =
            signer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (hash, signature)));
        return success && result.length >= 32
            && abi.decode(result, (bytes32)) == bytes32(IERC1271.isValidSignature.selector);
    }
}
