// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @notice OpenZeppelin's `SignatureChecker.isValidSignatureNow` without its `utils/Bytes.sol`
/// dependency (which needs `mcopy`, unavailable for shanghai): an ECDSA signature by `signer`, or
/// else, when `signer` has code, whatever its ERC-1271 `isValidSignature` accepts.
library SignatureCheck {
    function isValidSignatureNow(address signer, bytes32 hash, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        if (signature.length == 65) {
            (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(hash, signature);
            if (error == ECDSA.RecoverError.NoError && recovered == signer) return true;
        }
        if (signer.code.length == 0) return false;
        (bool success, bytes memory result) =
            signer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (hash, signature)));
        return success && result.length >= 32
            && abi.decode(result, (bytes32)) == bytes32(IERC1271.isValidSignature.selector);
    }
}
