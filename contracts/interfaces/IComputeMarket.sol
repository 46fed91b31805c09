// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAssetRegistry} from "./IAssetRegistry.sol";

/// @title ComputeMarket: compute-for-token settlement
/// @notice Staked compute providers are paid two ways.
/// Jobs: a buyer holding a COMPUTE license on a dataset escrows the provider's fee plus the dataset's
/// optional per-job data fee; the provider accepts the job (locking its per-job collateral) or
/// declines it, then posts the result; after a challenge window anyone finalizes: the provider is
/// credited its fee, the data fee goes through `IAssetRegistry.payRevenue` (split to protocol,
/// curators and owner). The buyer may dispute inside the window (posting a bond); an arbiter decides.
/// An accepted job whose deadline passes without a result refunds the buyer and slashes the
/// collateral to the buyer; a job never accepted only refunds the buyer.
/// Every settlement credits balances that their owners pull with `withdraw` (no push payments).
/// Metered calls: payment channels with EIP-712 vouchers for the cumulative amount owed, redeemed by
/// the provider at any time, many channels per transaction.
interface IComputeMarket {
    enum JobStatus {
        None,
        Open, // escrowed, waiting for the provider to accept (no collateral locked yet)
        Accepted, // the provider locked its collateral, waiting for the result
        Submitted, // result posted, challenge window running
        Disputed, // buyer disputed inside the window, waiting for the arbiter
        Finalized, // provider and dataset paid
        Refunded // buyer refunded (missed deadline, declined, cancelled, lost or stale dispute)
    }

    /// @notice Market parameters (admin, within the bounds of `setParams`). Stakes and collateral are
    /// in `stakeToken`. Every `setParams` stores a new numbered set; a job runs under the set that was
    /// current when it was created (`Job.paramsId`, `paramsAt`), whatever is set later.
    /// @dev Ordered so that `createJob` reads one slot for collateral and duration.
    struct Params {
        uint96 jobCollateral; // stake an accepted job locks, slashed to the buyer if the provider fails it
        uint32 maxJobDuration; // latest deadline a job may ask for, in seconds from creation
        uint32 challengeWindow; // seconds after a result during which the buyer may dispute
        uint32 arbitrationPeriod; // seconds the arbiter has after the window before a dispute goes stale
        uint32 exitDelay; // seconds between `requestExit` and `withdrawStake`
        uint96 minProviderStake; // stake a provider needs to register and to take jobs
        uint16 disputeBondBps; // bond the buyer posts to dispute, in bps of the job's price
    }

    struct Provider {
        address priceToken; // token of `price`, of every job and channel with this provider; 0 = unregistered
        uint96 price; // provider fee per job
        uint96 stake; // staked `stakeToken`, locked collateral included
        uint96 locked; // collateral locked by unsettled jobs
        uint64 exitAt; // 0 = active; else the time the stake becomes withdrawable (no new jobs/channels)
        string endpoint; // URL where the provider takes jobs and metered calls
    }

    struct Job {
        address buyer;
        uint64 deadline;
        JobStatus status;
        uint16 paramsId; // the `Params` this job runs under (challenge window, arbitration, bond)
        address provider;
        uint96 providerFee;
        address token;
        uint96 dataFee;
        uint96 collateral; // provider stake this job locks from acceptance on
        uint64 challengeEnd; // 0 until a result is posted
        uint96 datasetId;
        bytes32 resultHash; // 0 until a result is posted
    }

    struct Channel {
        address buyer;
        uint64 expiry; // the buyer may reclaim from this time; the provider should redeem before it
        address token;
        uint96 deposit; // deposited, minus what was reclaimed
        address provider;
        uint96 redeemed; // cumulative amount paid to the provider
    }

    /// @notice A voucher to redeem in `redeemMany`. The buyer signs EIP-712
    /// `Voucher(uint256 channelId,uint256 cumulativeAmount)` in the domain
    /// ("DataDAO ComputeMarket", "1", chainId, this contract), and the signature is given in
    /// EIP-2098 compact form:
    /// `vs` = s with the top bit set when v = 28. Fixed size, so a batch has no offsets to decode.
    struct CompactVoucher {
        uint256 channelId;
        uint256 cumulativeAmount;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice The license terms the buyer commits to in `createJobWithLicense` (scope is COMPUTE).
    struct LicenseTerms {
        uint256 offerId;
        address token; // the offer's payment token
        uint256 maxPrice; // the most the buyer pays for the license
        uint64 duration; // the offer's duration in seconds, 0 = perpetual
    }

    // ---------------------------------------------------------------- events

    event ParamsSet(
        uint16 indexed paramsId,
        uint96 jobCollateral,
        uint32 maxJobDuration,
        uint32 challengeWindow,
        uint32 arbitrationPeriod,
        uint32 exitDelay,
        uint96 minProviderStake,
        uint16 disputeBondBps
    );
    event ProviderRegistered(
        address indexed provider, string endpoint, address priceToken, uint96 price, uint96 stake
    );
    event ProviderUpdated(address indexed provider, string endpoint, address priceToken, uint96 price);
    event StakeAdded(address indexed provider, uint96 amount, uint96 stake);
    event ExitRequested(address indexed provider, uint64 availableAt);
    event ExitCancelled(address indexed provider);
    event StakeWithdrawn(address indexed provider, uint96 amount);
    event ProviderSlashed(address indexed provider, uint256 indexed jobId, address indexed recipient, uint96 amount);
    event ComputeFeeSet(uint256 indexed datasetId, address token, uint96 amount);

    event JobCreated(
        uint256 indexed jobId,
        address indexed buyer,
        address indexed provider,
        uint256 datasetId,
        uint256 algorithmId,
        address token,
        uint96 providerFee,
        uint96 dataFee,
        uint96 collateral,
        uint64 deadline,
        uint16 paramsId
    );
    /// @notice The provider took the job and locked `collateral` of its stake.
    event JobAccepted(uint256 indexed jobId, address indexed provider, uint96 collateral);
    /// @notice The buyer withdrew a job the provider had not accepted.
    event JobCancelled(uint256 indexed jobId);
    /// @notice `resultCid` is the (buyer-encrypted) result on IPFS; `resultHash` the provider's
    /// commitment to the plain result (e.g. its sha2-256), checked by the buyer after decryption.
    event ResultSubmitted(
        uint256 indexed jobId, IAssetRegistry.Cid resultCid, bytes32 resultHash, uint64 challengeEnd
    );
    /// @notice The buyer disputed the result and posted `bond` of the job's token.
    event JobDisputed(uint256 indexed jobId, uint96 bond);
    event DisputeResolved(uint256 indexed jobId, bool providerPaid, address indexed arbiter);
    event JobFinalized(uint256 indexed jobId, uint96 providerFee, uint96 dataFee);
    event JobDeclined(uint256 indexed jobId);
    /// @notice The buyer was credited `amount` of the job's token (escrow, plus the dispute bond if any);
    /// `slashed` is collateral (in `stakeToken`) credited on top.
    event JobRefunded(uint256 indexed jobId, address indexed buyer, uint96 amount, uint96 slashed);
    /// @notice `amount` of `token` was added to what `account` may `withdraw`.
    event Credited(address indexed account, address indexed token, uint256 amount);
    /// @notice `account` withdrew its whole balance of `token` to `to`.
    event Withdrawn(address indexed account, address indexed token, address to, uint256 amount);

    event ChannelOpened(
        uint256 indexed channelId,
        address indexed buyer,
        address indexed provider,
        address token,
        uint96 deposit,
        uint64 expiry
    );
    event ChannelToppedUp(uint256 indexed channelId, uint96 amount, uint96 deposit);
    event ChannelExtended(uint256 indexed channelId, uint64 expiry);
    /// @notice The provider redeemed a voucher: it got `amount`, `redeemed` is the new cumulative total.
    event ChannelRedeemed(uint256 indexed channelId, uint96 amount, uint96 redeemed);
    event ChannelReclaimed(uint256 indexed channelId, uint96 amount);
    /// @notice A batch redemption (`redeemMany`) by `provider`: channel
    /// `channelIds[i]` now has `redeemed[i]` redeemed in total. What was paid per channel is the
    /// increase over its previous total (from `ChannelOpened`/`ChannelRedeemed`/this event, or
    /// `getChannel` before the batch); the token is the channel's.
    event VouchersRedeemed(address indexed provider, uint256[] channelIds, uint256[] redeemed);

    // ---------------------------------------------------------------- errors

    error ZeroAddress();
    error ZeroAmount();
    error InvalidParams();
    error TokenNotAllowed(address token);
    error AlreadyRegistered(address provider);
    error UnknownProvider(address provider);
    error ProviderExiting(address provider);
    error NotExiting(address provider);
    error StillUnbonding(uint64 availableAt);
    error CollateralLocked(uint96 locked);
    error InsufficientStake(address provider, uint256 free, uint256 needed);
    error NotAssetOwner(uint256 assetId, address account);
    error FeeTokenMismatch(uint256 datasetId, address feeToken, address jobToken);
    error PriceAboveMax(uint256 price, uint256 maxPrice);
    error InvalidDeadline(uint64 deadline);
    error WrongJobStatus(uint256 jobId, JobStatus status);
    error NotJobBuyer(uint256 jobId, address account);
    error NotJobProvider(uint256 jobId, address account);
    error DeadlinePassed(uint256 jobId, uint64 deadline);
    error DeadlineNotPassed(uint256 jobId, uint64 deadline);
    error ChallengeWindowOpen(uint256 jobId, uint64 challengeEnd);
    error ChallengeWindowClosed(uint256 jobId, uint64 challengeEnd);
    error DisputeNotStale(uint256 jobId, uint256 staleAt);
    error EmptyResult(uint256 jobId);
    error UnknownChannel(uint256 channelId);
    error NotChannelBuyer(uint256 channelId, address account);
    error NotChannelProvider(uint256 channelId, address account);
    error InvalidExpiry(uint64 expiry);
    error ChannelNotExpired(uint256 channelId, uint64 expiry);
    error VoucherNotNewer(uint256 channelId, uint256 cumulativeAmount, uint256 redeemed);
    error VoucherExceedsDeposit(uint256 channelId, uint256 cumulativeAmount, uint256 deposit);
    error InvalidVoucherSignature(uint256 channelId);
    error NothingToReclaim(uint256 channelId);
    error EmptyBatch();
    error EmptyEndpoint();
    error PriceTokenMismatch(address provider, address priceToken, address token);
    error AmountTooLarge(uint256 amount, uint256 max);
    error TooManyTokens();
    error NothingToWithdraw();

    // ---------------------------------------------------------------- providers

    /// @notice Register the caller as a provider with `stake` of `stakeToken` (≥ `minProviderStake`),
    /// pulled from the caller.
    /// @param endpoint URL where the provider takes jobs and metered calls.
    /// @param priceToken A payment token the registry allows; every job and channel with this provider uses it.
    /// @param price Provider fee per job.
    function registerProvider(string calldata endpoint, address priceToken, uint96 price, uint96 stake) external;

    /// @notice Change the caller's endpoint and price. Jobs already created keep their fee; open
    /// channels keep their token.
    function updateProvider(string calldata endpoint, address priceToken, uint96 price) external;

    /// @notice Add `amount` of `stakeToken` to the caller's stake.
    function addStake(uint96 amount) external;

    /// @notice Stop taking new jobs and channels; the stake is withdrawable after `exitDelay` once no
    /// job locks collateral. Jobs already created must still be served (or declined).
    /// @return availableAt When `withdrawStake` may be called.
    function requestExit() external returns (uint64 availableAt);

    /// @notice Take jobs and channels again after `requestExit` (before or after withdrawing).
    function cancelExit() external;

    /// @notice Withdraw the caller's whole stake after the exit delay, when no job locks collateral.
    function withdrawStake() external returns (uint96 amount);

    /// @notice Set the per-job data fee paid to `datasetId` (owner, curators, protocol) when a job on it
    /// is finalized. Only the dataset's owner (e.g. its DataDAO). `amount` 0 = no data fee.
    /// @dev A job's token is its provider's price token; a non-zero fee in another token blocks jobs
    /// with that provider (`FeeTokenMismatch`). Jobs already created keep their fee.
    function setComputeFee(uint256 datasetId, address token, uint96 amount) external;

    // ---------------------------------------------------------------- jobs

    /// @notice Escrow provider fee + data fee for a job on `datasetId` running `algorithmId` at
    /// `provider`. Nothing of the provider's is at risk until it accepts (`acceptJob`). The caller
    /// must hold a COMPUTE license on the dataset and have approved this contract for the fees.
    /// @param datasetId An asset of kind DATASET.
    /// @param algorithmId An asset of kind ALGORITHM or MODEL.
    /// @param deadline Unix time by which the result must be posted (≤ now + `maxJobDuration`).
    /// @param token The token the caller pays in; must be the provider's price token.
    /// @param maxPrice Provider fee + data fee the caller accepts (guards against price changes).
    /// @return jobId The new job's id (ids start at 1).
    function createJob(
        uint256 datasetId,
        uint256 algorithmId,
        address provider,
        uint64 deadline,
        address token,
        uint256 maxPrice
    ) external returns (uint256 jobId);

    /// @notice `createJob`, buying the dataset's COMPUTE offer `license.offerId` for the caller first.
    /// The offer must still have the token and duration the caller committed to and cost at most
    /// `license.maxPrice`. The market pulls the license price from the caller, approves the registry
    /// for exactly that and buys with licensee = caller; the caller approves this contract for license
    /// price + job price.
    function createJobWithLicense(
        uint256 datasetId,
        LicenseTerms calldata license,
        uint256 algorithmId,
        address provider,
        uint64 deadline,
        address token,
        uint256 maxPrice
    ) external returns (uint256 jobId);

    /// @notice The job's provider takes an open job before its deadline and locks the job's collateral
    /// from its free stake. From here on a missed deadline or a lost dispute slashes it.
    function acceptJob(uint256 jobId) external;

    /// @notice The buyer withdraws a job the provider has not accepted; the escrow is credited back.
    function cancelJob(uint256 jobId) external;

    /// @notice The job's provider posts the result by the deadline; the challenge window (the job's
    /// params) starts. Posting on an open job accepts it in the same call (locks the collateral).
    function submitResult(uint256 jobId, IAssetRegistry.Cid calldata resultCid, bytes32 resultHash) external;

    /// @notice After the challenge window anyone settles the job: the provider fee is credited to the
    /// provider, the data fee goes to the dataset through `payRevenue`; the collateral is unlocked.
    function finalize(uint256 jobId) external;

    /// @notice The buyer disputes a posted result inside the challenge window, posting a bond of
    /// `disputeBondBps` (the job's params) of the job's price in the job's token, pulled from the
    /// caller. The bond goes to the provider if the arbiter pays it, back to the buyer otherwise.
    function dispute(uint256 jobId) external;

    /// @notice ARBITER_ROLE settles a dispute: pay as `finalize` (plus the bond to the provider), or
    /// refund the buyer (escrow and bond) and slash the provider's collateral to the buyer.
    function resolveDispute(uint256 jobId, bool payProvider) external;

    /// @notice Anyone refunds a dispute the arbiter left unanswered for the job's `arbitrationPeriod`
    /// after the window: escrow and bond credited to the buyer, the collateral unlocked, no slash.
    function settleStaleDispute(uint256 jobId) external;

    /// @notice Anyone refunds a job whose deadline passed without a result. An accepted job's
    /// collateral is slashed to the buyer; a job never accepted is only refunded.
    function expire(uint256 jobId) external;

    /// @notice The provider refuses a job before its deadline: the buyer is refunded. Declining an
    /// open job costs nothing; declining an accepted one slashes its collateral to the buyer (the
    /// same as missing the deadline, only earlier). After the deadline only `expire` settles.
    function declineJob(uint256 jobId) external;

    /// @notice Pay the caller's whole credited balance of `token` (refunds, slashed collateral,
    /// provider fees, bonds) to the caller.
    function withdraw(address token) external returns (uint256 amount);

    /// @notice `withdraw` to another address, e.g. when a token's blocklist stops the caller itself
    /// from receiving.
    function withdrawTo(address token, address to) external returns (uint256 amount);

    // ---------------------------------------------------------------- channels

    /// @notice Open a payment channel to `provider` in `token` (which must be its price token) with
    /// `deposit`, until `expiry`. A channel holds at most 2^88 - 1 base units.
    /// @return channelId The new channel's id (ids start at 1).
    function openChannel(address provider, address token, uint96 deposit, uint64 expiry)
        external
        returns (uint256 channelId);

    /// @notice The buyer adds `amount` to a channel's deposit.
    function topUp(uint256 channelId, uint96 amount) external;

    /// @notice The buyer moves a channel's expiry later.
    function extend(uint256 channelId, uint64 newExpiry) external;

    /// @notice The provider redeems the buyer's voucher for `cumulativeAmount` in total and receives
    /// what is new. Works until the buyer reclaims the rest after expiry.
    function redeem(uint256 channelId, uint256 cumulativeAmount, bytes calldata signature) external;

    /// @notice The provider redeems vouchers of many of its channels in one transaction, with one token
    /// transfer per run of consecutive vouchers in the same token and one `VouchersRedeemed` event.
    /// All-or-nothing. Signatures are EIP-2098 compact ECDSA; for a buyer that is a contract, the
    /// signature expanded to 65 bytes (r, s, v) is checked with ERC-1271. A wallet whose signatures
    /// do not fit 65 bytes (e.g. a multisig's) is redeemed with `redeem`, one voucher per call.
    function redeemMany(CompactVoucher[] calldata vouchers) external;

    /// @notice From expiry on, the buyer takes back what was not redeemed. Top up and extend to reuse
    /// the channel.
    function reclaim(uint256 channelId) external returns (uint96 amount);

    // ---------------------------------------------------------------- views

    /// @notice EIP-712 type hash of `Voucher(uint256 channelId,uint256 cumulativeAmount)`.
    function VOUCHER_TYPEHASH() external view returns (bytes32);

    /// @notice The EIP-712 digest a buyer signs for `cumulativeAmount` in total on `channelId`.
    function voucherDigest(uint256 channelId, uint256 cumulativeAmount) external view returns (bytes32);

    function getProvider(address provider) external view returns (Provider memory);

    function getJob(uint256 jobId) external view returns (Job memory);

    function getChannel(uint256 channelId) external view returns (Channel memory);

    function computeFee(uint256 datasetId) external view returns (address token, uint96 amount);

    /// @notice The current params (those of `paramsId()`), which new jobs run under.
    function params() external view returns (Params memory);

    /// @notice The id of the current params set (1 = the constructor's).
    function paramsId() external view returns (uint16);

    /// @notice The params set `id`, as jobs created under it see them.
    function paramsAt(uint16 id) external view returns (Params memory);

    /// @notice What `account` may `withdraw` of `token`.
    function claimable(address account, address token) external view returns (uint256);

    function stakeToken() external view returns (address);

    function registry() external view returns (IAssetRegistry);

    function jobCount() external view returns (uint64);

    function channelCount() external view returns (uint64);
}
