// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Payouts} from "./Payouts.sol";
import {IAssetRegistry} from "../interfaces/IAssetRegistry.sol";

/// @notice Curators stake the staking token on an asset and share its curators' cut of every
/// payment in proportion to stake: a Synthetix accumulator per (asset, payment token). Unstaking
/// waits `unbondingDelay`, so nobody stakes just before a sale and leaves right after it.
abstract contract CurationStaking is Payouts, Pausable {
    using SafeERC20 for IERC20;

    uint256 private constant PRECISION = 1e18;

    struct Pool {
        uint128 totalStaked;
        uint8 tokenMask; // bit i set once payment token i has been distributed on this asset
    }

    struct StakeInfo {
        uint128 amount;
        uint128 unbonding;
        uint64 availableAt;
    }

    IERC20 internal immutable _stakingToken;

    mapping(uint256 assetId => Pool) internal _pools;
    mapping(uint256 assetId => mapping(uint256 tokenIndex => uint256)) internal _rewardPerShare;
    mapping(uint256 assetId => mapping(address staker => StakeInfo)) internal _stakes;
    mapping(uint256 assetId => mapping(address staker => mapping(uint256 tokenIndex => uint256))) internal _paid;
    mapping(uint256 assetId => mapping(address staker => mapping(uint256 tokenIndex => uint256))) internal _rewards;

    constructor(IERC20 stakingToken_) {
        if (address(stakingToken_) == address(0)) revert ZeroAddress();
        _stakingToken = stakingToken_;
    }

    /// @notice The current unbonding delay in seconds.
    function unbondingDelay() public view virtual returns (uint32);

    function _requireExists(uint256 assetId) internal view virtual;

    /// @inheritdoc IAssetRegistry
    function stakingToken() external view returns (address) {
        return address(_stakingToken);
    }

    /// @inheritdoc IAssetRegistry
    function totalStaked(uint256 assetId) external view returns (uint256) {
        return _pools[assetId].totalStaked;
    }

    /// @inheritdoc IAssetRegistry
    function stakeOf(uint256 assetId, address staker)
        external
        view
        returns (uint256 active, uint256 unbonding, uint64 availableAt)
    {
        StakeInfo memory info = _stakes[assetId][staker];
        return (info.amount, info.unbonding, info.availableAt);
    }

    /// @inheritdoc IAssetRegistry
    function earned(uint256 assetId, address staker, address token) external view returns (uint256) {
        uint8 slotIndex = _tokenSlots[token].index;
        if (slotIndex == 0) return 0;
        return _earned(assetId, staker, slotIndex - 1, _stakes[assetId][staker].amount);
    }

    /// @inheritdoc IAssetRegistry
    function stake(uint256 assetId, uint256 amount) external nonReentrant whenNotPaused {
        _requireExists(assetId);
        if (amount == 0) revert ZeroAmount();
        StakeInfo storage info = _stakes[assetId][msg.sender];
        _settle(assetId, msg.sender, info.amount);
        uint128 amount128 = SafeCast.toUint128(amount);
        info.amount += amount128;
        _pools[assetId].totalStaked += amount128;
        emit Staked(assetId, msg.sender, amount);
        _stakingToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IAssetRegistry
    function requestUnstake(uint256 assetId, uint256 amount) external returns (uint64 availableAt) {
        StakeInfo storage info = _stakes[assetId][msg.sender];
        uint128 active = info.amount;
        if (amount == 0) revert ZeroAmount();
        if (amount > active) revert InsufficientStake(amount, active);
        _settle(assetId, msg.sender, active);
        uint128 amount128 = uint128(amount);
        info.amount = active - amount128;
        info.unbonding += amount128;
        availableAt = uint64(block.timestamp) + unbondingDelay();
        info.availableAt = availableAt;
        _pools[assetId].totalStaked -= amount128;
        emit UnstakeRequested(assetId, msg.sender, amount, availableAt);
    }

    /// @inheritdoc IAssetRegistry
    function withdrawStake(uint256 assetId) external nonReentrant returns (uint256 amount) {
        StakeInfo storage info = _stakes[assetId][msg.sender];
        amount = info.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < info.availableAt) revert StillUnbonding(info.availableAt);
        info.unbonding = 0;
        info.availableAt = 0;
        emit StakeWithdrawn(assetId, msg.sender, amount);
        _stakingToken.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IAssetRegistry
    function claim(uint256 assetId) external nonReentrant {
        _settle(assetId, msg.sender, _stakes[assetId][msg.sender].amount);
        uint8 mask = _pools[assetId].tokenMask;
        bool any = false;
        for (uint256 i; mask != 0; ++i) {
            if (mask & 1 != 0) {
                uint256 reward = _rewards[assetId][msg.sender][i];
                if (reward != 0) {
                    any = true;
                    _rewards[assetId][msg.sender][i] = 0;
                    address token = _paymentTokens[i];
                    emit RewardClaimed(assetId, msg.sender, token, reward);
                    IERC20(token).safeTransfer(msg.sender, reward);
                }
            }
            mask >>= 1;
        }
        if (!any) revert NothingToWithdraw();
    }

    /// @dev Share `amount` of payment token `tokenIndex` among the asset's stakers.
    /// @return rest What could not be shared (everything when nobody stakes, rounding dust
    /// otherwise); the caller gives it to the owner, so no token is ever stuck.
    function _distribute(uint256 assetId, uint256 tokenIndex, uint256 amount) internal returns (uint256 rest) {
        Pool memory pool = _pools[assetId];
        if (pool.totalStaked == 0 || amount == 0) return amount;
        uint256 increment = amount * PRECISION / pool.totalStaked;
        _rewardPerShare[assetId][tokenIndex] += increment;
        uint8 bit = uint8(1 << tokenIndex);
        if (pool.tokenMask & bit == 0) _pools[assetId].tokenMask = pool.tokenMask | bit;
        return amount - increment * pool.totalStaked / PRECISION;
    }

    /// @dev Synthetix `updateReward`: move what `staker` earned with weight `weight` into
    /// `_rewards` before the weight changes.
    function _settle(uint256 assetId, address staker, uint256 weight) private {
        uint8 mask = _pools[assetId].tokenMask;
        for (uint256 i; mask != 0; ++i) {
            if (mask & 1 != 0) {
                uint256 perShare = _rewardPerShare[assetId][i];
                uint256 paid = _paid[assetId][staker][i];
                if (perShare != paid) {
                    if (weight != 0) {
                        _rewards[assetId][staker][i] += weight * (perShare - paid) / PRECISION;
                    }
                    _paid[assetId][staker][i] = perShare;
                }
            }
            mask >>= 1;
        }
    }

    function _earned(uint256 assetId, address staker, uint256 tokenIndex, uint256 weight)
        private
        view
        returns (uint256)
    {
        uint256 perShare = _rewardPerShare[assetId][tokenIndex];
        return _rewards[assetId][staker][tokenIndex]
            + weight * (perShare - _paid[assetId][staker][tokenIndex]) / PRECISION;
    }
}
