// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IAssetRegistry} from "../interfaces/IAssetRegistry.sol";

/// @notice Pull payments: balances per (account, token) credited by sales and withdrawn by their
/// owners, plus the allowlist of payment tokens (at most 8, so per-token loops stay bounded).
abstract contract Payouts is IAssetRegistry, ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint256 internal constant MAX_PAYMENT_TOKENS = 8;

    struct TokenSlot {
        uint8 index; // 1-based position in `_paymentTokens`; 0 = never allowed
        bool allowed;
    }

    mapping(address account => mapping(address token => uint256)) internal _balances;
    mapping(address token => TokenSlot) internal _tokenSlots;
    address[] internal _paymentTokens;

    /// @inheritdoc IAssetRegistry
    function payoutBalance(address account, address token) external view returns (uint256) {
        return _balances[account][token];
    }

    /// @inheritdoc IAssetRegistry
    function withdraw(address token) external nonReentrant returns (uint256) {
        return _withdraw(token, msg.sender);
    }

    /// @inheritdoc IAssetRegistry
    function withdrawTo(address token, address to) external nonReentrant returns (uint256) {
        if (to == address(0)) revert ZeroAddress();
        return _withdraw(token, to);
    }

    /// @inheritdoc IAssetRegistry
    function depositFor(address account, address token, uint256 amount) external nonReentrant {
        if (account == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        _requireAllowedToken(token);
        _credit(account, token, amount);
        emit PayoutCredited(account, token, amount);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Payment tokens ever allowed, in allowlist order (index i ↔ bit i of reward masks).
    function paymentTokens() external view returns (address[] memory) {
        return _paymentTokens;
    }

    /// @notice Whether sales and offers may use `token` now.
    function isPaymentToken(address token) external view returns (bool) {
        return _tokenSlots[token].allowed;
    }

    function _withdraw(address token, address to) private returns (uint256 amount) {
        amount = _balances[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw();
        _balances[msg.sender][token] = 0;
        emit Withdrawn(msg.sender, token, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    function _credit(address account, address token, uint256 amount) internal {
        if (amount != 0) _balances[account][token] += amount;
    }

    function _setPaymentToken(address token, bool allowed) internal {
        if (token == address(0)) revert ZeroAddress();
        TokenSlot memory slot = _tokenSlots[token];
        if (slot.index == 0) {
            if (!allowed) return;
            if (_paymentTokens.length == MAX_PAYMENT_TOKENS) revert TooManyPaymentTokens();
            _paymentTokens.push(token);
            slot.index = uint8(_paymentTokens.length);
        }
        slot.allowed = allowed;
        _tokenSlots[token] = slot;
        emit PaymentTokenAllowed(token, allowed);
    }

    /// @return index 0-based position of an allowed token (its bit in reward masks).
    function _requireAllowedToken(address token) internal view returns (uint256 index) {
        TokenSlot memory slot = _tokenSlots[token];
        if (!slot.allowed) revert TokenNotAllowed(token);
        return slot.index - 1;
    }
}
