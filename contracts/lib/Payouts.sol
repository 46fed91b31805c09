// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IAssetRegistry} from "../interfaces/IAssetRegistry.sol";

/// @notice Pull payments: balances per (account, token) credited by sales and withdrawn by their
/// owners, plus the allowlist of payment tokens (at most 8, so per-token loops stay bounded).
abstract contract Payouts is IAssetRegistry, ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint256 internal constant MAX_PAYMENT_TOKENS = 8;

    /// @dev Read by every sale: the protocol fee is credited here (a non-zero slot the sale has
    /// already read) rather than to the treasury's balance, which a first sale would write from
    /// zero (20k gas more). `payoutBalance` and `withdraw` add it to the treasury's balance.
    struct TokenSlot {
        uint8 index; // 1-based position in `_paymentTokens`; 0 = never allowed
        bool allowed;
        uint240 fees; // protocol fees owed to the current treasury
    }

    mapping(address account => mapping(address token => uint256)) internal _balances;
    mapping(address token => TokenSlot) internal _tokenSlots;
    address[] internal _paymentTokens;

    /// @inheritdoc IAssetRegistry
    function payoutBalance(address account, address token) external view returns (uint256) {
        return _balances[account][token] + (account == _treasury() ? _tokenSlots[token].fees : 0);
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
        if (msg.sender == _treasury()) _settleFees(msg.sender);
        mapping(address token => uint256) storage mine = _balances[msg.sender];
        amount = mine[token];
        if (amount == 0) revert NothingToWithdraw();
        mine[token] = 0;
        emit Withdrawn(msg.sender, token, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    function _credit(address account, address token, uint256 amount) internal {
        if (amount != 0) _balances[account][token] += amount;
    }

    /// @dev Credit a protocol fee to the treasury (see `TokenSlot`).
    function _creditFee(address token, uint256 fee) internal {
        if (fee != 0) _tokenSlots[token].fees += uint240(fee);
    }

    /// @dev Before the treasury changes: the fees owed so far become the old treasury's balance.
    function _settleFees(address treasury) internal {
        for (uint256 i; i < _paymentTokens.length; ++i) {
            address token = _paymentTokens[i];
            uint256 fees = _tokenSlots[token].fees;
            if (fees != 0) {
                _tokenSlots[token].fees = 0;
                _balances[treasury][token] += fees;
            }
        }
    }

    /// @dev Where protocol fees go now.
    function _treasury() internal view virtual returns (address);

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
