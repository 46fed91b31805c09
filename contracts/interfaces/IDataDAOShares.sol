// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDataDAOFactory} from "./IDataDAOFactory.sol";

/// @title DataDAO voting shares with a revenue accumulator
/// @notice The ERC-20 / ERC-5805 (ERC20Votes, timestamp clock) share token of one DataDAO. Revenue in a
/// listed token is shared among holders by balance at the moment it arrives (reward-per-share
/// accumulator); every mint or transfer first pulls the DAO's pending revenue and settles both sides,
/// so shares never carry revenue that arrived before their holder had them. Revenue that arrived
/// before a token was listed is not shared: listing sends it to the DAO (its treasury). A delisted
/// token is never called on a transfer (a broken token cannot freeze the shares); what members
/// were owed in it stays theirs to withdraw.
interface IDataDAOShares {
    /// @notice Revenue of `token` was added to the accumulator: `amount` shared over the supply.
    event RevenueDistributed(address indexed token, uint256 amount, uint256 revenuePerShare);
    /// @notice `member` withdrew `amount` of `token`.
    event RevenueWithdrawn(address indexed member, address indexed token, uint256 amount);
    /// @notice `token` is now shared among members as revenue.
    event RevenueTokenAdded(address indexed token);
    /// @notice `token` is no longer pulled or shared; members keep what they were owed in it.
    event RevenueTokenRemoved(address indexed token);
    /// @notice `amount` of `token` held here before it was listed was sent to the DAO, unshared.
    event UnlistedRevenueReturned(address indexed token, uint256 amount);

    error NotDAO(address caller);
    error NotRevenueToken(address token);
    error RevenueTokenAlreadyListed(address token);
    error NotAContract(address token);
    error TooManyRevenueTokens(uint256 max);
    error LengthMismatch(uint256 members, uint256 amounts);
    error NoShares();
    error ZeroAddress();

    /// @notice Sets up a clone from the factory's DAO config: name, symbol, initial members and their
    /// shares, revenue tokens; `dao_` is the owning DAO (the only minter).
    /// @dev Called once by the factory in the creating transaction; the implementation itself is locked.
    function initialize(address dao_, IDataDAOFactory.DAOConfig calldata config) external;

    /// @notice Mints `amount` shares to `to` (the DAO only, after a proposal passed).
    /// @dev Pending revenue is pulled and shared among the existing holders before the supply grows.
    function mint(address to, uint256 amount) external;

    /// @notice Lists `token` as revenue shared among members (the DAO only); at most MAX_REVENUE_TOKENS
    /// tokens ever (a delisted token keeps its place and may be listed again).
    /// @dev Units of `token` already held here and not owed to members arrived before the listing:
    /// they are sent to the DAO, not shared (event `UnlistedRevenueReturned`).
    function addRevenueToken(address token) external;

    /// @notice Stops pulling and sharing `token` (the DAO only): share transfers and mints never call
    /// it again. Members keep what they were owed in it and withdraw it with `withdraw`.
    /// @dev Does not pull (the token may be broken): revenue not collected before stays the DAO's.
    function removeRevenueToken(address token) external;

    /// @notice Whether `token` is listed now (pulled and shared).
    function isRevenueToken(address token) external view returns (bool);

    /// @notice Pulls the DAO's pending revenue in `token` and shares every unaccounted unit held among
    /// the current holders. Anyone may call.
    /// @return amount the amount newly shared
    function distribute(address token) external returns (uint256 amount);

    /// @notice Withdraws the caller's revenue in `token` (pending revenue is pulled in first while
    /// `token` is listed; a delisted token pays what was owed when it was delisted).
    /// @return amount what was sent to the caller (0 when nothing is owed; no revert)
    function withdraw(address token) external returns (uint256 amount);

    /// @notice Revenue in `token` that `account` would receive from `withdraw` now, including the
    /// DAO's payout still in the registry.
    function withdrawable(address token, address account) external view returns (uint256);

    /// @notice Accumulated revenue per share of `token`, scaled by 1e18.
    function revenuePerShare(address token) external view returns (uint256);

    /// @notice Units of `token` this contract holds for members (distributed and not yet claimed).
    function revenueHeld(address token) external view returns (uint256);

    /// @notice Every token ever listed, delisted ones included (see `isRevenueToken`).
    function revenueTokens() external view returns (address[] memory);

    /// @notice The DAO that owns this token (the only minter).
    function dao() external view returns (address);
}
