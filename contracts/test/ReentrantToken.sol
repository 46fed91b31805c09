// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A hostile payment token for tests: after every `transfer` / `transferFrom` it calls
/// back once into an armed target (e.g. the registry) with armed calldata, and records whether
/// that inner call succeeded. It can also act as an account (`execute`), so the attacker and the
/// token are one contract.
contract ReentrantToken is ERC20 {
    address public hookTarget;
    bytes public hookData;
    bool public hookRan;
    bool public hookSucceeded;
    bytes public hookReturn;

    event HookRan(bool success, bytes returnData);

    constructor() ERC20("Reentrant Token", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Call `target` with `data` from inside the next transfer (once).
    function arm(address target, bytes calldata data) external {
        hookTarget = target;
        hookData = data;
        hookRan = false;
        hookSucceeded = false;
        delete hookReturn;
    }

    /// @notice Call `target` as this contract; bubbles a revert up.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        bool ok = super.transfer(to, value);
        _hook();
        return ok;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        bool ok = super.transferFrom(from, to, value);
        _hook();
        return ok;
    }

    function _hook() private {
        address target = hookTarget;
        if (target == address(0)) return;
        hookTarget = address(0);
        (bool ok, bytes memory ret) = target.call(hookData);
        hookRan = true;
        hookSucceeded = ok;
        hookReturn = ret;
        emit HookRan(ok, ret);
    }
}
