// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAssetRegistry} from "./IAssetRegistry.sol";

/// @title DataDAO: an OpenZeppelin Governor that owns registry assets and shares their revenue
/// @notice The DAO is its own executor: it owns the asset NFTs, receives their payouts in the registry
/// and makes every call a proposal carries (publish, new version, offers, any other call). This
/// interface holds only what the DAO adds to OpenZeppelin's IGovernor, which it also implements.
interface IDataDAO {
    /// @notice Governance settings of a new DAO (timestamps: the clock is ERC-6372 `mode=timestamp`).
    struct Settings {
        uint48 votingDelay; // seconds between proposal and vote start
        uint32 votingPeriod; // seconds the vote is open
        uint32 executionDelay; // seconds between queue and execute; 0 = no queue step
        uint256 proposalThreshold; // shares (votes) needed to propose
        uint256 quorumNumerator; // percent of the supply at the snapshot that must vote For or Abstain
    }

    /// @notice `member` was admitted with `shares` new shares for the dataset at `contribution`.
    event ContributorAdmitted(address indexed member, uint256 shares, IAssetRegistry.Cid contribution);
    /// @notice The delay between queue and execute changed (0 = proposals execute without a queue step).
    event ExecutionDelaySet(uint32 oldDelay, uint32 newDelay);
    /// @notice Same signature as OpenZeppelin's GovernorVotesQuorumFraction, so tools read it.
    event QuorumNumeratorUpdated(uint256 oldQuorumNumerator, uint256 newQuorumNumerator);
    /// @notice `amount` of `token` moved from the DAO's registry payout balance to its share token.
    event RevenueReleased(address indexed token, uint256 amount);
    /// @notice Registry payout of `amount` in `token` that arrived before the token was listed was
    /// kept by the DAO (its treasury, spent by proposal), not shared among members.
    event UnlistedRevenueKept(address indexed token, uint256 amount);

    error NotShares(address caller);
    error InvalidQuorumFraction(uint256 quorumNumerator, uint256 quorumDenominator);
    error ProposalNotQueued(uint256 proposalId);
    error ProposalNotReady(uint256 proposalId, uint256 eta);
    error InvalidCid();
    error ZeroAddress();
    error ZeroAmount();

    /// @notice Sets up a clone (the factory calls it in the creating transaction).
    function initialize(string calldata name_, address shares_, address registry_, Settings calldata settings)
        external;

    /// @notice The share token (ERC20Votes) whose past votes and supply this governor counts.
    function token() external view returns (address);

    /// @notice The asset registry whose assets the DAO owns and whose payouts it receives.
    function registry() external view returns (address);

    /// @notice Seconds between `queue` and `execute`; 0 when proposals execute straight after the vote.
    function executionDelay() external view returns (uint32);

    /// @notice Current quorum numerator (percent of the supply).
    function quorumNumerator() external view returns (uint256);

    /// @notice Quorum numerator in force at `timepoint`.
    function quorumNumerator(uint256 timepoint) external view returns (uint256);

    /// @notice Denominator of the quorum fraction (100).
    function quorumDenominator() external view returns (uint256);

    /// @notice Mints `shares` to `member` for the contributed dataset whose CID is (`cidDigest`,
    /// `codec`) — governance only, i.e. through a proposal that names the contribution.
    /// @dev Revenue that reached the DAO before the mint goes to the members who were there.
    function admitContributor(address member, uint256 shares, bytes32 cidDigest, uint64 codec) external;

    /// @notice Changes the queue-to-execute delay (governance only).
    function setExecutionDelay(uint32 newDelay) external;

    /// @notice Changes the quorum numerator (governance only); past proposals keep theirs.
    function updateQuorumNumerator(uint256 newQuorumNumerator) external;

    /// @notice Lists `revenueToken` as revenue shared among members (governance only). Revenue in
    /// it that arrived before (the DAO's registry payout, units sent to the share token) is not
    /// shared among today's members, who may not have been members then: it goes to the DAO's own
    /// balance, which proposals spend.
    function addRevenueToken(address revenueToken) external;

    /// @notice Delists `revenueToken` (governance only): share transfers and admissions stop calling
    /// it, so a token that reverts cannot freeze them. Members keep what they were owed in it.
    /// @dev Never calls the token. Revenue not yet collected stays in the DAO's registry payout, the
    /// DAO's own (a proposal that still can should `collect` first, in the same proposal).
    function removeRevenueToken(address revenueToken) external;

    /// @notice Pulls the DAO's registry payout in `revenueToken` into the share token and shares it
    /// among members by their shares now. Anyone may call; each member then withdraws from the share
    /// token (`IDataDAOShares.withdraw`).
    /// @return amount the amount newly shared
    function collect(address revenueToken) external returns (uint256 amount);

    /// @notice Moves the DAO's registry payout in `revenueToken` to the share token (share token only).
    /// @dev The share token calls it before any change of shares and accounts the amount at once.
    /// @return amount the amount moved
    function releaseRevenue(address revenueToken) external returns (uint256 amount);
}
