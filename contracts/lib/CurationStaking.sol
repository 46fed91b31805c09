// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {Payouts} from "./Payouts.sol";
import {IAssetRegistry} from "../interfaces/IAssetRegistry.sol";

/// @notice Curators stake the staking token on an asset and share its curators' cut of every
/// payment in proportion to stake: a Synthetix accumulator per (asset, payment token). A new stake
/// warms up for `unbondingDelay` before it earns and unstaking waits `unbondingDelay` again, so
/// revenue goes to stake that was there before it: staking just before a sale earns nothing of
/// it, and any stake that earns has been locked for at least two delays.
/// @dev Warm-up without loops: warming stake is kept per staker outside the pool's weight and joins
/// it (after settling the staker) at the staker's next action or `activateStake`. Rounding: each
/// payment sets aside the *ceiling* of what its increment lets stakers claim, so the registry
/// always holds at least every claim (stakers' floors only lower what they take).
abstract contract CurationStaking is Payouts, Pausable {
    using SafeERC20 for IERC20;

    uint256 private constant PRECISION = 1e18;

    struct Pool {
        uint128 totalStaked;
        uint8 tokenMask; // bit i set once payment token i has been distributed on this asset
    }

    /// @dev Two slots: earning and unbonding amounts; warming amount with both timestamps.
    struct StakeInfo {
        uint128 amount; // earning
        uint128 unbonding;
        uint128 warming; // staked, not earning until `activeAt`
        uint64 availableAt; // end of unbonding
        uint64 activeAt; // end of warm-up
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
    function warmingStake(uint256 assetId, address staker) external view returns (uint256 amount, uint64 activeAt) {
        StakeInfo memory info = _stakes[assetId][staker];
        return (info.warming, info.activeAt);
    }

    /// @inheritdoc IAssetRegistry
    function earned(uint256 assetId, address staker, address token) external view returns (uint256) {
        uint8 slotIndex = _tokenSlots[token].index;
        if (slotIndex == 0) return 0;
        return _earned(assetId, staker, slotIndex - 1, _stakes[assetId][staker].amount);
    }

    /// @inheritdoc IAssetRegistry
    function stake(uint256 assetId, uint256 amount) external nonReentrant whenNotPaused returns (uint64 activeAt) {
        _requireExists(assetId);
        if (amount == 0) revert ZeroAmount();
        StakeInfo storage info = _stakes[assetId][msg.sender];
        _activate(assetId, msg.sender, info);
        info.warming += SafeCast.toUint128(amount);
        activeAt = uint64(block.timestamp) + unbondingDelay();
        info.activeAt = activeAt;
        emit Staked(assetId, msg.sender, amount, activeAt);
        _stakingToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IAssetRegistry
    function activateStake(uint256 assetId, address staker) external {
        _activate(assetId, staker, _stakes[assetId][staker]);
    }

    /// @inheritdoc IAssetRegistry
    function requestUnstake(uint256 assetId, uint256 amount) external returns (uint64 availableAt) {
        if (amount == 0) revert ZeroAmount();
        StakeInfo storage info = _stakes[assetId][msg.sender];
        _activate(assetId, msg.sender, info);
        uint128 warming = info.warming;
        uint128 active = info.amount;
        if (amount > uint256(warming) + active) revert InsufficientStake(amount, uint256(warming) + active);
        uint128 amount128 = uint128(amount);
        uint128 fromWarming = amount128 < warming ? amount128 : warming;
        if (fromWarming != 0) {
            if (fromWarming == warming) (info.warming, info.activeAt) = (0, 0);
            else info.warming = warming - fromWarming;
        }
        uint128 fromActive = amount128 - fromWarming;
        if (fromActive != 0) {
            _settle(assetId, msg.sender, active);
            info.amount = active - fromActive;
            _pools[assetId].totalStaked -= fromActive;
        }
        info.unbonding += amount128;
        availableAt = uint64(block.timestamp) + unbondingDelay();
        info.availableAt = availableAt;
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
        StakeInfo storage info = _stakes[assetId][msg.sender];
        _activate(assetId, msg.sender, info);
        _settle(assetId, msg.sender, info.amount);
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

    /// @inheritdoc IAssetRegistry
    function claimReward(uint256 assetId, address token, address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroAddress();
        uint256 slotIndex = _tokenSlots[token].index;
        if (slotIndex == 0) revert NothingToWithdraw();
        StakeInfo storage info = _stakes[assetId][msg.sender];
        _activate(assetId, msg.sender, info);
        _settle(assetId, msg.sender, info.amount);
        amount = _rewards[assetId][msg.sender][slotIndex - 1];
        if (amount == 0) revert NothingToWithdraw();
        _rewards[assetId][msg.sender][slotIndex - 1] = 0;
        emit RewardClaimed(assetId, msg.sender, token, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @dev Share `amount` of payment token `tokenIndex` among the asset's earning stakers.
    /// @return rest What is not set aside for them (everything when nobody earns); the caller gives
    /// it to the owner. The set-aside is ceil(increment * total / 1e18): at least what the stakers
    /// can ever claim of this payment (each claim is a floor of their exact part), at most
    /// `amount` (increment = floor(amount * 1e18 / total)); the < 1 wei in between stays in the
    /// registry, so the last withdrawal never reverts.
    function _distribute(uint256 assetId, uint256 tokenIndex, uint256 amount) internal returns (uint256 rest) {
        Pool memory pool = _pools[assetId];
        if (pool.totalStaked == 0 || amount == 0) return amount;
        uint256 increment = amount * PRECISION / pool.totalStaked;
        _rewardPerShare[assetId][tokenIndex] += increment;
        uint8 bit = uint8(1 << tokenIndex);
        if (pool.tokenMask & bit == 0) _pools[assetId].tokenMask = pool.tokenMask | bit;
        return amount - Math.ceilDiv(increment * pool.totalStaked, PRECISION);
    }

    /// @dev Move `staker`'s warmed-up stake into the earning weight, settling the old weight first.
    function _activate(uint256 assetId, address staker, StakeInfo storage info) private {
        uint128 warming = info.warming;
        if (warming == 0 || block.timestamp < info.activeAt) return;
        uint128 active = info.amount;
        _settle(assetId, staker, active);
        info.amount = active + warming;
        info.warming = 0;
        info.activeAt = 0;
        _pools[assetId].totalStaked += warming;
        emit StakeActivated(assetId, staker, warming);
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
