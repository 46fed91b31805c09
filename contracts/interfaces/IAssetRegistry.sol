// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ILicenseOracle} from "./ILicenseOracle.sol";

/// @title DataDAO Exchange asset registry: assets, offers, licenses, payouts, curation stakes
/// @notice Every dataset, model or algorithm is an ERC-721 token. The token owner (an account or
/// a DataDAO) sells licenses through offers; each sale is split at once into protocol fee,
/// curators' share and owner's share, credited to balances their owners withdraw.
interface IAssetRegistry is ILicenseOracle {
    enum Kind {
        DATASET,
        MODEL,
        ALGORITHM
    }

    /// @dev DOWNLOAD = 0, COMPUTE = 1 (the `uint8 scope` of ILicenseOracle).
    enum Scope {
        DOWNLOAD,
        COMPUTE
    }

    /// @notice A CIDv1 reduced to what varies: the sha2-256 digest and the multicodec
    /// (0x55 raw, 0x70 dag-pb).
    struct Cid {
        bytes32 digest;
        uint64 codec;
    }

    /// @notice An offer as given to `publish` / `setOffer`. `duration` 0 = perpetual.
    struct OfferInput {
        address token;
        uint96 price;
        uint64 duration;
        Scope scope;
    }

    struct Offer {
        address token;
        uint96 price;
        uint64 duration;
        Scope scope;
        bool active;
    }

    struct AssetInfo {
        Kind kind;
        bool retired;
        uint16 curatorShareBps;
        uint32 versionCount;
        uint32 offerCount;
    }

    struct Version {
        Cid content;
        Cid metadata;
        uint64 publishedAt;
    }

    /// @notice What a dataset's owner allows compute jobs to do with it. `anyAlgorithm`: every
    /// algorithm or model may run (only by the owner's explicit choice; by default only the ones
    /// listed with `trustAlgorithm` may). `maxResultBytes`: the largest result a provider may
    /// return to the job's buyer (0 = the provider's own cap). `logTailBytes`: how much of the
    /// end of a failed run's log the buyer may read (0 = nothing: a log can carry data).
    struct ComputePolicy {
        bool anyAlgorithm;
        uint64 maxResultBytes;
        uint32 logTailBytes;
    }

    /// @notice One purchase inside `buyMany`, with every term the buyer commits to (see `buy`).
    struct Order {
        uint256 assetId;
        uint256 offerId;
        address licensee;
        address token;
        uint256 maxPrice;
        uint64 duration;
        Scope scope;
    }

    /// @notice An EIP-2612 permit for the payment token, used in the same call as the purchase.
    struct Permit {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    // ---- events (the indexer lives on them) ----
    event AssetPublished(
        uint256 indexed assetId, address indexed owner, Kind kind, Cid content, Cid metadata, uint16 curatorShareBps
    );
    event VersionAdded(uint256 indexed assetId, uint32 indexed version, Cid content, Cid metadata);
    event OfferSet(
        uint256 indexed assetId,
        uint32 indexed offerId,
        address token,
        uint96 price,
        uint64 duration,
        Scope scope,
        bool active
    );
    event AssetRetired(uint256 indexed assetId);
    /// @notice The curators' share in force from now on is `curatorShareBps` (at publish, on a raise,
    /// or when a scheduled cut is folded in by the next change).
    event CuratorShareSet(uint256 indexed assetId, uint16 curatorShareBps);
    /// @notice A cut of the curators' share to `curatorShareBps` applies to payments from
    /// `effectiveAt` on (one unbonding delay later, so curators can leave before it applies).
    event CuratorShareScheduled(uint256 indexed assetId, uint16 curatorShareBps, uint64 effectiveAt);
    event LicensePurchased(
        uint256 indexed assetId,
        uint32 indexed offerId,
        address indexed licensee,
        address buyer,
        Scope scope,
        address token,
        uint256 price,
        uint64 expiresAt
    );
    event LicenseGranted(uint256 indexed assetId, address indexed licensee, Scope scope, uint64 expiresAt);
    event LicenseGrantRevoked(uint256 indexed assetId, address indexed licensee, Scope scope);
    /// @notice A payment to an asset was split. `owner` got `ownerAmount` (plus `curatorAmount`
    /// when nobody stakes on the asset, then `curatorAmount` is 0), `treasury` got `protocolFee`.
    event RevenueSplit(
        uint256 indexed assetId,
        address indexed token,
        address indexed owner,
        uint256 ownerAmount,
        uint256 curatorAmount,
        uint256 protocolFee
    );
    event PayoutCredited(address indexed account, address indexed token, uint256 amount);
    event Withdrawn(address indexed account, address indexed token, address to, uint256 amount);
    /// @notice `amount` was staked; it starts earning at `activeAt` (after a warm-up of one
    /// unbonding delay; a stake still warming up restarts its warm-up with it).
    event Staked(uint256 indexed assetId, address indexed staker, uint256 amount, uint64 activeAt);
    /// @notice Warmed-up stake of `amount` joined the staker's earning stake.
    event StakeActivated(uint256 indexed assetId, address indexed staker, uint256 amount);
    event UnstakeRequested(uint256 indexed assetId, address indexed staker, uint256 amount, uint64 availableAt);
    event StakeWithdrawn(uint256 indexed assetId, address indexed staker, uint256 amount);
    event RewardClaimed(uint256 indexed assetId, address indexed staker, address indexed token, uint256 amount);
    event ComputePolicySet(
        uint256 indexed datasetId, bool anyAlgorithm, uint64 maxResultBytes, uint32 logTailBytes
    );
    /// @notice `algorithmId` may run on `datasetId`: only its `version` (0 = whichever is latest).
    event AlgorithmTrusted(uint256 indexed datasetId, uint256 indexed algorithmId, uint32 version);
    event AlgorithmUntrusted(uint256 indexed datasetId, uint256 indexed algorithmId);
    event ProtocolFeeSet(uint16 feeBps);
    event TreasurySet(address indexed treasury);
    event PaymentTokenAllowed(address indexed token, bool allowed);
    event UnbondingDelaySet(uint32 delaySeconds);

    // ---- errors ----
    error UnknownAsset(uint256 assetId);
    error UnknownOffer(uint256 assetId, uint256 offerId);
    error UnknownVersion(uint256 assetId, uint256 version);
    error NotAssetOwner(uint256 assetId, address caller);
    error AssetIsRetired(uint256 assetId);
    error OfferInactive(uint256 assetId, uint256 offerId);
    error PriceAboveMax(uint256 price, uint256 maxPrice);
    error TokenNotAllowed(address token);
    error TooManyPaymentTokens();
    error FeeTooHigh(uint256 feeBps, uint256 maxBps);
    error CuratorShareTooHigh(uint256 shareBps, uint256 maxBps);
    error InvalidCid();
    error ZeroAddress();
    error ZeroAmount();
    error NoOffers();
    error EmptyOrder();
    error NothingToWithdraw();
    error InsufficientStake(uint256 requested, uint256 staked);
    error StillUnbonding(uint64 availableAt);
    error GrantExpired(uint64 expiresAt);
    error UnknownScope(uint8 scope);
    error NotLicenseTokens(address caller);
    error LicenseTokensSet(address current);
    /// @notice The offer's token, duration or scope is not what the buyer committed to.
    error OfferTermsChanged(uint256 assetId, uint256 offerId);
    error UnbondingDelayTooShort(uint32 delaySeconds, uint32 minSeconds);
    error WrongAssetKind(uint256 assetId, Kind kind);
    /// @notice `account` holds no COMPUTE license on `assetId` (a dataset, or an algorithm/model
    /// it wants to run in a job).
    error NotLicensed(uint256 assetId, address account);
    /// @notice The dataset's owner has not listed `algorithmId` (or not this version of it).
    error AlgorithmNotTrusted(uint256 datasetId, uint256 algorithmId);

    // ---- assets ----
    /// @notice Mint a new asset to the caller with its first version and offers, in one transaction.
    /// @param content CID of the encrypted content (or of the plain content of an open asset).
    /// @param metadata CID of the public metadata JSON.
    /// @param curatorShareBps Share of every sale paid to the asset's curation stakers (≤ 5000).
    /// @return assetId The new token id (ids start at 1).
    function publish(
        Kind kind,
        Cid calldata content,
        Cid calldata metadata,
        uint16 curatorShareBps,
        OfferInput[] calldata offers
    ) external returns (uint256 assetId);

    /// @notice Add a new version; every earlier version stays readable with `version`.
    /// @return number The new version number (the first version is 1).
    function addVersion(uint256 assetId, Cid calldata content, Cid calldata metadata) external returns (uint32 number);

    /// @notice Stop new sales for good. Licenses already sold or granted stay valid.
    function retire(uint256 assetId) external;

    /// @notice Add an offer (`offerId` = `offerCount(assetId)` + 1) or replace one (`offerId` ≤ count).
    /// @dev A replaced offer applies to purchases from the next transaction on; a buyer racing the
    /// change is protected by the terms it commits to in `buy` (token, max price, duration, scope).
    function setOffer(uint256 assetId, uint256 offerId, OfferInput calldata input) external returns (uint32);

    /// @notice Pause or resume one offer.
    function setOfferActive(uint256 assetId, uint256 offerId, bool active) external;

    /// @notice Set the curators' share of this asset's sales, in basis points (≤ 5000).
    /// @dev A raise applies at once; a cut applies one unbonding delay later (event
    /// `CuratorShareScheduled`), so curators bonded under the old share can leave first. A new call
    /// replaces a cut still pending.
    function setCuratorShare(uint256 assetId, uint16 curatorShareBps) external;

    /// @notice A scheduled cut of the curators' share not yet in force: (`curatorShareBps`,
    /// `effectiveAt`), or (current share, 0) when none is pending.
    function pendingCuratorShare(uint256 assetId) external view returns (uint16 curatorShareBps, uint64 effectiveAt);

    function assetInfo(uint256 assetId) external view returns (AssetInfo memory);
    function version(uint256 assetId, uint256 number) external view returns (Version memory);
    function latestVersion(uint256 assetId) external view returns (Version memory);
    function offer(uint256 assetId, uint256 offerId) external view returns (Offer memory);
    function assetCount() external view returns (uint256);

    // ---- licenses ----
    /// @notice Buy offer `offerId` of `assetId` for `licensee`; the caller pays with `transferFrom`.
    /// Buying again while a license runs extends it from its current end. The buyer commits to
    /// every term it pays for: the sale reverts with `OfferTermsChanged` unless the offer's token,
    /// duration and scope are exactly these, and with `PriceAboveMax` if its price is above `maxPrice`.
    /// @param token The payment token the buyer expects (the offer's `token`).
    /// @param maxPrice Revert if the offer's price is above this (the owner may change it).
    /// @param duration The license duration the buyer expects in seconds (0 = perpetual).
    /// @param scope The scope the buyer expects (DOWNLOAD or COMPUTE).
    /// @return expiresAt The new end of the license (`type(uint64).max` for perpetual).
    function buy(
        uint256 assetId,
        uint256 offerId,
        address licensee,
        address token,
        uint256 maxPrice,
        uint64 duration,
        Scope scope
    ) external returns (uint64 expiresAt);

    /// @notice `buy`, approving the payment with an EIP-2612 permit in the same call.
    /// @dev A permit that fails (e.g. already used by a front-runner) is ignored if the allowance
    /// already covers the price.
    function buyWithPermit(
        uint256 assetId,
        uint256 offerId,
        address licensee,
        address token,
        uint256 maxPrice,
        uint64 duration,
        Scope scope,
        Permit calldata permit
    ) external returns (uint64 expiresAt);

    /// @notice Buy several offers in one transaction; consecutive orders in the same token are
    /// paid with one `transferFrom`. Each order carries the terms its buyer commits to, as in `buy`.
    function buyMany(Order[] calldata orders) external;

    /// @notice `buyMany` with one EIP-2612 permit for `token` (all orders should pay in it).
    function buyManyWithPermit(Order[] calldata orders, address token, Permit calldata permit) external;

    /// @notice Grant a free license (owner only). `expiresAt` is absolute; `type(uint64).max` = perpetual.
    function grant(uint256 assetId, address licensee, Scope scope, uint64 expiresAt) external;

    /// @notice Revoke a grant. A license the licensee bought is not affected.
    function revokeGrant(uint256 assetId, address licensee, Scope scope) external;

    // ---- compute-to-data policy (read by ComputeMarket and the providers' gateways) ----
    /// @notice Set what jobs may do with `datasetId` (owner only; a DataDAO owner sets it by vote).
    function setComputePolicy(uint256 datasetId, bool anyAlgorithm, uint64 maxResultBytes, uint32 logTailBytes)
        external;

    /// @notice List `algorithmId` (an ALGORITHM or MODEL asset) as allowed to run on `datasetId`,
    /// pinned to `version` (0 = the algorithm's latest version at run time, which its owner can
    /// change). Listing again replaces the pin. Owner of the dataset only.
    function trustAlgorithm(uint256 datasetId, uint256 algorithmId, uint32 version) external;

    /// @notice Remove `algorithmId` from `datasetId`'s list (jobs already created keep running).
    function untrustAlgorithm(uint256 datasetId, uint256 algorithmId) external;

    function computePolicy(uint256 datasetId) external view returns (ComputePolicy memory);

    /// @notice Whether `algorithmId` is listed on `datasetId`, and its pinned version (0 = latest).
    function trustedAlgorithm(uint256 datasetId, uint256 algorithmId)
        external
        view
        returns (bool trusted, uint32 version);

    /// @notice Revert unless `buyer` may run `algorithmId` on `datasetId` now: the dataset is a
    /// DATASET and `buyer` holds its COMPUTE license; the algorithm is a live ALGORITHM or MODEL,
    /// listed by the dataset's owner (or the policy allows any), and `buyer` owns it or holds its
    /// COMPUTE license (so its owner is paid like any sale).
    /// @return algorithmVersion the version of the algorithm to run (the pinned one, else the latest)
    function checkJob(uint256 datasetId, uint256 algorithmId, address buyer)
        external
        view
        returns (uint32 algorithmVersion);

    // ---- payouts ----
    /// @notice Pay `amount` of `token` as revenue of `assetId` (e.g. from a compute job); split like a sale.
    function payRevenue(uint256 assetId, address token, uint256 amount) external;

    /// @notice Credit `amount` of `token` to `account`'s withdrawable balance, paid by the caller.
    function depositFor(address account, address token, uint256 amount) external;

    /// @notice What `account` can withdraw in `token` now.
    function payoutBalance(address account, address token) external view returns (uint256);

    /// @notice Withdraw the caller's whole balance in `token`. Never paused.
    function withdraw(address token) external returns (uint256 amount);

    /// @notice Withdraw the caller's whole balance in `token` to `to`. Never paused.
    function withdrawTo(address token, address to) external returns (uint256 amount);

    // ---- curation staking ----
    /// @notice Stake `amount` of the staking token on `assetId` to earn its curators' share.
    /// @dev The stake warms up for one unbonding delay before it earns (so nobody earns on revenue
    /// by staking just before it); a stake still warming up restarts its warm-up with the new amount.
    /// Warmed-up stake joins the earning stake at the staker's next stake, unstake or claim, or
    /// when anyone calls `activateStake`.
    /// @return activeAt when the warming stake starts earning
    function stake(uint256 assetId, uint256 amount) external returns (uint64 activeAt);

    /// @notice Let `staker`'s warmed-up stake on `assetId` start earning (anyone may call; a no-op
    /// while nothing has warmed up).
    function activateStake(uint256 assetId, address staker) external;

    /// @notice Stop earning on `amount` (stake still warming up is taken first); it can be
    /// withdrawn after the unbonding delay.
    function requestUnstake(uint256 assetId, uint256 amount) external returns (uint64 availableAt);

    /// @notice Withdraw stake whose unbonding delay has passed.
    function withdrawStake(uint256 assetId) external returns (uint256 amount);

    /// @notice Claim rewards earned on `assetId` in every payment token, paid to the caller.
    /// @dev All or nothing: one token whose transfer reverts fails the call; `claimReward` claims
    /// one token.
    function claim(uint256 assetId) external;

    /// @notice Claim the rewards earned on `assetId` in `token` only, paid to `to`.
    /// @return amount what was paid (reverts with `NothingToWithdraw` when 0)
    function claimReward(uint256 assetId, address token, address to) external returns (uint256 amount);

    /// @notice Rewards `staker` could claim on `assetId` in `token` now.
    function earned(uint256 assetId, address staker, address token) external view returns (uint256);

    /// @notice `staker`'s stake on `assetId`: earning (`active`), `unbonding` until `availableAt`.
    /// Stake still warming up is in `warmingStake`.
    function stakeOf(uint256 assetId, address staker)
        external
        view
        returns (uint256 active, uint256 unbonding, uint64 availableAt);

    /// @notice Stake of `staker` on `assetId` that does not earn yet and the time it may start
    /// earning (`activeAt` may be past: it then joins at the staker's next action or `activateStake`).
    function warmingStake(uint256 assetId, address staker) external view returns (uint256 amount, uint64 activeAt);

    /// @notice Earning stake on `assetId` (the weight the next payment is shared by).
    function totalStaked(uint256 assetId) external view returns (uint256);

    function stakingToken() external view returns (address);
}
