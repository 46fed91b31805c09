// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {IComputeMarket} from "./interfaces/IComputeMarket.sol";
import {SignatureCheck} from "./lib/SignatureCheck.sol";

/// @dev The registry's payment-token allowlist (AssetRegistry's `Payouts`), not part of IAssetRegistry.
interface IPaymentTokenAllowlist {
    function isPaymentToken(address token) external view returns (bool);
}

/// @title ComputeMarket
/// @notice Compute-for-token settlement on top of the AssetRegistry: staked providers, escrowed jobs
/// with an acceptance step, a challenge window and an arbiter, and EIP-712 voucher payment channels
/// for metered calls. Settlements credit balances that their owners `withdraw` (pull payments).
/// @dev Decisions (docs/CONTRACTS.md has the why):
/// - Provider collateral is this contract's own pool in the registry's staking token
///   (`stakeToken`). A job locks `jobCollateral` of its provider's stake only when the provider
///   accepts it (`acceptJob`, or `submitResult` on an open job): nothing of the provider's is at risk
///   before it could act. A missed deadline or a lost dispute of an accepted job slashes that
///   collateral to the buyer. An open job past its deadline refunds the buyer without slash.
///   Exit: `requestExit` stops new jobs and channels at once, `withdrawStake` returns the stake after
///   `exitDelay` and only when no job still locks collateral.
/// - Job price = provider fee (the provider's `price`, fixed at creation) + optional data fee (set
///   per dataset by its owner with `setComputeFee`, in the provider's token). The buyer names the
///   token and the most it pays. `registry.checkJob` decides who may run what: the buyer needs a
///   COMPUTE license on the dataset and on the algorithm or model (unless it owns it), and the
///   dataset's owner must have listed the algorithm (`trustAlgorithm`) or allowed any.
/// - Money leaves only to its owner's call: refunds, slashed collateral, provider fees and bonds are
///   credited (`claimable`) and pulled with `withdraw`; a recipient that cannot receive a token
///   (blocklist, paused token) blocks nobody else. Self-directed payouts (`redeem*`, `reclaim`,
///   `withdrawStake`) transfer to the caller directly. The data fee goes through
///   `registry.payRevenue`, which waits while the registry itself is paused.
/// - Params are versioned: a job keeps the set it was created under (`Job.paramsId`), so an admin
///   change never moves a running job's collateral, windows or bond.
/// - Channels pay only the provider (the data side is paid by the license). Vouchers are
///   cumulative, so replay is harmless; redemption is allowed until the buyer reclaims the rest
///   after expiry — providers should redeem before expiry. A channel's storage is three slots of
///   which a redemption reads two (buyer + redeemed + token id, provider + deposit): amounts are
///   `uint88`, tokens are numbered (`_tokenIds`) the first time a channel uses them.
/// - `pause` stops registrations, new jobs, new channels and top-ups; every settlement, refund,
///   redemption, reclaim and withdrawal keeps working.
contract ComputeMarket is IComputeMarket, AccessControl, Pausable, ReentrancyGuard, EIP712 {
    using SafeERC20 for IERC20;

    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @inheritdoc IComputeMarket
    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(uint256 channelId,uint256 cumulativeAmount)");
    uint256 private constant BPS = 10_000;
    /// @notice Bounds of `setParams`: no challenge window too short to check a result, no dispute
    /// that is stale before an arbiter could look at it, nothing that holds money for ever.
    uint32 internal constant MIN_CHALLENGE_WINDOW = 1 hours;
    uint32 internal constant MAX_CHALLENGE_WINDOW = 30 days;
    uint32 internal constant MIN_ARBITRATION_PERIOD = 1 days;
    uint32 internal constant MAX_ARBITRATION_PERIOD = 60 days;
    uint32 internal constant MIN_JOB_DURATION = 1 hours;
    uint32 internal constant MAX_JOB_DURATION = 365 days;
    uint32 internal constant MAX_EXIT_DELAY = 90 days;
    uint16 internal constant MAX_DISPUTE_BOND_BPS = 5_000;
    uint256 private constant MAX_CHANNEL_AMOUNT = type(uint88).max;

    struct DataFee {
        address token;
        uint96 amount;
    }

    /// @dev Storage form of `Channel`: slot 0 buyer + redeemed + token id, slot 1 provider + deposit
    /// (the two a redemption reads), slot 2 expiry.
    struct ChannelRecord {
        address buyer;
        uint88 redeemed;
        uint8 tokenId;
        address provider;
        uint88 deposit;
        uint64 expiry;
    }

    /// @inheritdoc IComputeMarket
    IAssetRegistry public immutable registry;
    IERC20 private immutable _stakeToken;

    /// @inheritdoc IComputeMarket
    uint64 public jobCount;
    /// @inheritdoc IComputeMarket
    uint64 public channelCount;
    /// @inheritdoc IComputeMarket
    uint16 public paramsId;
    uint8 private _tokenCount;
    mapping(uint256 id => Params) private _paramsById;
    mapping(address provider => Provider) private _providers;
    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 channelId => ChannelRecord) private _channels;
    mapping(uint256 datasetId => DataFee) private _dataFees;
    mapping(address account => mapping(address token => uint256)) private _claims;
    mapping(address token => uint8) private _tokenIds;
    mapping(uint8 tokenId => address) private _tokensById;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE, ARBITER_ROLE and PAUSER_ROLE.
    /// @param registry_ The AssetRegistry: licenses, asset kinds, revenue split, staking token.
    constructor(address admin, IAssetRegistry registry_, Params memory params_)
        EIP712("DataDAO ComputeMarket", "1")
    {
        if (admin == address(0) || address(registry_) == address(0)) revert ZeroAddress();
        registry = registry_;
        _stakeToken = IERC20(registry_.stakingToken());
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(ARBITER_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _setParams(params_);
    }

    // ------------------------------------------------------------------ providers

    /// @inheritdoc IComputeMarket
    function registerProvider(string calldata endpoint, address priceToken, uint96 price, uint96 stake)
        external
        nonReentrant
        whenNotPaused
    {
        Provider storage provider = _providers[msg.sender];
        if (provider.priceToken != address(0)) revert AlreadyRegistered(msg.sender);
        if (bytes(endpoint).length == 0) revert EmptyEndpoint();
        _requirePaymentToken(priceToken);
        uint96 minStake = _paramsById[paramsId].minProviderStake;
        if (stake < minStake) revert InsufficientStake(msg.sender, stake, minStake);
        provider.priceToken = priceToken;
        provider.price = price;
        provider.stake = stake;
        provider.endpoint = endpoint;
        emit ProviderRegistered(msg.sender, endpoint, priceToken, price, stake);
        if (stake != 0) _stakeToken.safeTransferFrom(msg.sender, address(this), stake);
    }

    /// @inheritdoc IComputeMarket
    function updateProvider(string calldata endpoint, address priceToken, uint96 price) external {
        Provider storage provider = _registered(msg.sender);
        if (bytes(endpoint).length == 0) revert EmptyEndpoint();
        _requirePaymentToken(priceToken);
        provider.priceToken = priceToken;
        provider.price = price;
        provider.endpoint = endpoint;
        emit ProviderUpdated(msg.sender, endpoint, priceToken, price);
    }

    /// @inheritdoc IComputeMarket
    function addStake(uint96 amount) external nonReentrant {
        Provider storage provider = _registered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint96 stake = provider.stake + amount;
        provider.stake = stake;
        emit StakeAdded(msg.sender, amount, stake);
        _stakeToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IComputeMarket
    function requestExit() external returns (uint64 availableAt) {
        Provider storage provider = _registered(msg.sender);
        if (provider.exitAt != 0) revert ProviderExiting(msg.sender);
        availableAt = uint64(block.timestamp) + _paramsById[paramsId].exitDelay;
        provider.exitAt = availableAt;
        emit ExitRequested(msg.sender, availableAt);
    }

    /// @inheritdoc IComputeMarket
    function cancelExit() external {
        Provider storage provider = _registered(msg.sender);
        if (provider.exitAt == 0) revert NotExiting(msg.sender);
        provider.exitAt = 0;
        emit ExitCancelled(msg.sender);
    }

    /// @inheritdoc IComputeMarket
    function withdrawStake() external nonReentrant returns (uint96 amount) {
        Provider storage provider = _registered(msg.sender);
        uint64 exitAt = provider.exitAt;
        if (exitAt == 0) revert NotExiting(msg.sender);
        if (block.timestamp < exitAt) revert StillUnbonding(exitAt);
        if (provider.locked != 0) revert CollateralLocked(provider.locked);
        amount = provider.stake;
        if (amount == 0) revert ZeroAmount();
        provider.stake = 0;
        emit StakeWithdrawn(msg.sender, amount);
        _stakeToken.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IComputeMarket
    function setComputeFee(uint256 datasetId, address token, uint96 amount) external {
        if (IERC721(address(registry)).ownerOf(datasetId) != msg.sender) revert NotAssetOwner(datasetId, msg.sender);
        if (amount != 0) _requirePaymentToken(token);
        _dataFees[datasetId] = DataFee(token, amount);
        emit ComputeFeeSet(datasetId, token, amount);
    }

    // ------------------------------------------------------------------ jobs

    /// @inheritdoc IComputeMarket
    function createJob(
        uint256 datasetId,
        uint256 algorithmId,
        address provider,
        uint64 deadline,
        address token,
        uint256 maxPrice
    ) external nonReentrant whenNotPaused returns (uint256) {
        return _createJob(datasetId, algorithmId, provider, deadline, token, maxPrice);
    }

    /// @inheritdoc IComputeMarket
    /// @dev The license purchase is an interaction before the job's effects; it is safe because the
    /// registry is fixed at construction, tokens are the registry's allowlisted ones and the whole
    /// call is `nonReentrant`. The registry's allowance is exactly the price and is used up by `buy`.
    function createJobWithLicense(
        uint256 datasetId,
        LicenseTerms calldata license,
        uint256 algorithmId,
        address provider,
        uint64 deadline,
        address token,
        uint256 maxPrice
    ) external nonReentrant whenNotPaused returns (uint256) {
        _buyComputeLicense(datasetId, license);
        return _createJob(datasetId, algorithmId, provider, deadline, token, maxPrice);
    }

    /// @inheritdoc IComputeMarket
    function acceptJob(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Open);
        if (msg.sender != job.provider) revert NotJobProvider(jobId, msg.sender);
        _accept(jobId, job);
    }

    /// @inheritdoc IComputeMarket
    function cancelJob(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Open);
        if (msg.sender != job.buyer) revert NotJobBuyer(jobId, msg.sender);
        emit JobCancelled(jobId);
        _refund(jobId, job, false, false, 0);
    }

    /// @inheritdoc IComputeMarket
    function submitResult(uint256 jobId, IAssetRegistry.Cid calldata resultCid, bytes32 resultHash) external {
        Job storage job = _jobs[jobId];
        bool accepted = _requireUnsettled(jobId, job);
        if (msg.sender != job.provider) revert NotJobProvider(jobId, msg.sender);
        if (!accepted) _accept(jobId, job); // checks the deadline
        else if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        if (resultCid.digest == bytes32(0) || resultHash == bytes32(0)) revert EmptyResult(jobId);
        uint64 challengeEnd = uint64(block.timestamp) + _paramsById[job.paramsId].challengeWindow;
        job.status = JobStatus.Submitted;
        job.challengeEnd = challengeEnd;
        job.resultHash = resultHash;
        emit ResultSubmitted(jobId, resultCid, resultHash, challengeEnd);
    }

    /// @inheritdoc IComputeMarket
    function finalize(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Submitted);
        if (block.timestamp <= job.challengeEnd) revert ChallengeWindowOpen(jobId, job.challengeEnd);
        _pay(jobId, job, 0);
    }

    /// @inheritdoc IComputeMarket
    function dispute(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Submitted);
        if (msg.sender != job.buyer) revert NotJobBuyer(jobId, msg.sender);
        if (block.timestamp > job.challengeEnd) revert ChallengeWindowClosed(jobId, job.challengeEnd);
        uint96 bond = _bond(job);
        job.status = JobStatus.Disputed;
        emit JobDisputed(jobId, bond);
        if (bond != 0) IERC20(job.token).safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IComputeMarket
    function resolveDispute(uint256 jobId, bool payProvider) external nonReentrant onlyRole(ARBITER_ROLE) {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Disputed);
        emit DisputeResolved(jobId, payProvider, msg.sender);
        if (payProvider) _pay(jobId, job, _bond(job));
        else _refund(jobId, job, true, true, _bond(job));
    }

    /// @inheritdoc IComputeMarket
    function settleStaleDispute(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Disputed);
        uint256 staleAt = uint256(job.challengeEnd) + _paramsById[job.paramsId].arbitrationPeriod;
        if (block.timestamp <= staleAt) revert DisputeNotStale(jobId, staleAt);
        _refund(jobId, job, true, false, _bond(job));
    }

    /// @inheritdoc IComputeMarket
    function expire(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        bool accepted = _requireUnsettled(jobId, job);
        if (block.timestamp <= job.deadline) revert DeadlineNotPassed(jobId, job.deadline);
        _refund(jobId, job, accepted, accepted, 0);
    }

    /// @inheritdoc IComputeMarket
    function declineJob(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        bool accepted = _requireUnsettled(jobId, job);
        if (msg.sender != job.provider) revert NotJobProvider(jobId, msg.sender);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        emit JobDeclined(jobId);
        _refund(jobId, job, accepted, accepted, 0);
    }

    /// @inheritdoc IComputeMarket
    function withdraw(address token) external nonReentrant returns (uint256) {
        return _withdraw(token, msg.sender);
    }

    /// @inheritdoc IComputeMarket
    function withdrawTo(address token, address to) external nonReentrant returns (uint256) {
        if (to == address(0)) revert ZeroAddress();
        return _withdraw(token, to);
    }

    // ------------------------------------------------------------------ channels

    /// @inheritdoc IComputeMarket
    function openChannel(address provider, address token, uint96 deposit, uint64 expiry)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 channelId)
    {
        Provider storage account = _registered(provider);
        if (account.exitAt != 0) revert ProviderExiting(provider);
        uint96 minStake = _paramsById[paramsId].minProviderStake;
        if (account.stake < minStake) revert InsufficientStake(provider, account.stake, minStake);
        address priceToken = account.priceToken;
        if (token != priceToken) revert PriceTokenMismatch(provider, priceToken, token);
        if (expiry <= block.timestamp) revert InvalidExpiry(expiry);
        if (deposit == 0) revert ZeroAmount();
        if (deposit > MAX_CHANNEL_AMOUNT) revert AmountTooLarge(deposit, MAX_CHANNEL_AMOUNT);
        uint8 tokenId = _tokenIdOf(token);
        channelId = ++channelCount;
        _channels[channelId] = ChannelRecord(msg.sender, 0, tokenId, provider, uint88(deposit), expiry);
        emit ChannelOpened(channelId, msg.sender, provider, token, deposit, expiry);
        IERC20(token).safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc IComputeMarket
    function topUp(uint256 channelId, uint96 amount) external nonReentrant whenNotPaused {
        ChannelRecord storage channel = _buyerChannel(channelId);
        if (amount == 0) revert ZeroAmount();
        uint256 deposit = uint256(channel.deposit) + amount;
        if (deposit > MAX_CHANNEL_AMOUNT) revert AmountTooLarge(deposit, MAX_CHANNEL_AMOUNT);
        channel.deposit = uint88(deposit);
        emit ChannelToppedUp(channelId, amount, uint96(deposit));
        IERC20(_tokensById[channel.tokenId]).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IComputeMarket
    function extend(uint256 channelId, uint64 newExpiry) external {
        ChannelRecord storage channel = _buyerChannel(channelId);
        if (newExpiry <= channel.expiry || newExpiry <= block.timestamp) revert InvalidExpiry(newExpiry);
        channel.expiry = newExpiry;
        emit ChannelExtended(channelId, newExpiry);
    }

    /// @inheritdoc IComputeMarket
    function redeem(uint256 channelId, uint256 cumulativeAmount, bytes calldata signature) external nonReentrant {
        ChannelRecord storage channel = _channels[channelId];
        (address buyer, uint256 redeemed, uint8 tokenId) = _checkVoucher(channel, channelId, cumulativeAmount);
        bytes32 digest = voucherDigest(channelId, cumulativeAmount);
        if (!SignatureCheck.isValidSignatureNow(buyer, digest, signature)) revert InvalidVoucherSignature(channelId);
        _storeRedeemed(channel, buyer, tokenId, cumulativeAmount); // ≤ deposit, a uint88
        uint256 amount = cumulativeAmount - redeemed;
        emit ChannelRedeemed(channelId, uint96(amount), uint96(cumulativeAmount));
        IERC20(_tokensById[tokenId]).safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IComputeMarket
    /// @dev Per voucher: two cold channel slots, one `ecrecover`, one warm store; one event and one
    /// transfer per batch (per run of a token). Amounts are bounded by deposits (uint88), so the
    /// running sum cannot overflow.
    function redeemMany(CompactVoucher[] calldata vouchers) external nonReentrant {
        uint256 count = vouchers.length;
        if (count == 0) revert EmptyBatch();
        uint256[] memory channelIds = new uint256[](count);
        uint256[] memory totals = new uint256[](count);
        uint8 pendingToken = 0;
        uint256 pendingAmount = 0;
        for (uint256 i; i < count;) {
            CompactVoucher calldata voucher = vouchers[i];
            uint256 channelId = voucher.channelId;
            uint256 cumulative = voucher.cumulativeAmount;
            ChannelRecord storage channel = _channels[channelId];
            (address buyer, uint256 redeemed, uint8 tokenId) = _checkVoucher(channel, channelId, cumulative);
            if (
                !SignatureCheck.isValidCompactSignatureNow(
                    buyer, voucherDigest(channelId, cumulative), voucher.r, voucher.vs
                )
            ) revert InvalidVoucherSignature(channelId);
            _storeRedeemed(channel, buyer, tokenId, cumulative);
            (pendingToken, pendingAmount) = _accrue(pendingToken, pendingAmount, tokenId, cumulative - redeemed);
            channelIds[i] = channelId;
            totals[i] = cumulative;
            unchecked {
                ++i;
            }
        }
        emit VouchersRedeemed(msg.sender, channelIds, totals);
        IERC20(_tokensById[pendingToken]).safeTransfer(msg.sender, pendingAmount);
    }

    /// @inheritdoc IComputeMarket
    function reclaim(uint256 channelId) external nonReentrant returns (uint96 amount) {
        ChannelRecord storage channel = _buyerChannel(channelId);
        if (block.timestamp < channel.expiry) revert ChannelNotExpired(channelId, channel.expiry);
        uint88 redeemed = channel.redeemed;
        amount = channel.deposit - redeemed;
        if (amount == 0) revert NothingToReclaim(channelId);
        channel.deposit = redeemed;
        emit ChannelReclaimed(channelId, amount);
        IERC20(_tokensById[channel.tokenId]).safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ admin

    /// @notice Set the market parameters (admin) as a new numbered set, within the bounds of the
    /// `MIN_*` / `MAX_*` constants. Jobs already created keep the set they were created under;
    /// registration, channels, exit requests and new jobs use the new one.
    function setParams(Params calldata params_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParams(params_);
    }

    /// @notice Stop registrations, new jobs, new channels and top-ups. Settlement, refunds,
    /// redemptions, reclaims and withdrawals continue.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resume what `pause` stopped.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IComputeMarket
    function voucherDigest(uint256 channelId, uint256 cumulativeAmount) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, channelId, cumulativeAmount)));
    }

    /// @inheritdoc IComputeMarket
    function getProvider(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    /// @inheritdoc IComputeMarket
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @inheritdoc IComputeMarket
    function getChannel(uint256 channelId) external view returns (Channel memory) {
        ChannelRecord memory record = _channels[channelId];
        return Channel(
            record.buyer,
            record.expiry,
            _tokensById[record.tokenId],
            record.deposit,
            record.provider,
            record.redeemed
        );
    }

    /// @inheritdoc IComputeMarket
    function computeFee(uint256 datasetId) external view returns (address token, uint96 amount) {
        DataFee memory fee = _dataFees[datasetId];
        return (fee.token, fee.amount);
    }

    /// @inheritdoc IComputeMarket
    function params() external view returns (Params memory) {
        return _paramsById[paramsId];
    }

    /// @inheritdoc IComputeMarket
    function paramsAt(uint16 id) external view returns (Params memory) {
        return _paramsById[id];
    }

    /// @inheritdoc IComputeMarket
    function claimable(address account, address token) external view returns (uint256) {
        return _claims[account][token];
    }

    /// @inheritdoc IComputeMarket
    function stakeToken() external view returns (address) {
        return address(_stakeToken);
    }

    /// @notice ERC-165: AccessControl and IComputeMarket.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IComputeMarket).interfaceId || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Buys the COMPUTE license of `createJobWithLicense` for the caller. The registry's
    /// `buy` checks every term the buyer committed to — the offer's token and duration, COMPUTE
    /// scope, price ≤ max (`OfferTermsChanged`, `PriceAboveMax`) — and the whole call reverts with
    /// it; the market only forwards the offer's current price, pulled from the buyer.
    function _buyComputeLicense(uint256 datasetId, LicenseTerms calldata license) private {
        IAssetRegistry.Offer memory licenseOffer = registry.offer(datasetId, license.offerId);
        uint256 price = licenseOffer.price;
        if (price != 0) {
            IERC20 licenseToken = IERC20(licenseOffer.token);
            licenseToken.safeTransferFrom(msg.sender, address(this), price);
            licenseToken.forceApprove(address(registry), price);
        }
        registry.buy(
            datasetId,
            license.offerId,
            msg.sender,
            license.token,
            license.maxPrice,
            license.duration,
            IAssetRegistry.Scope.COMPUTE
        );
    }

    /// @dev Checks, effects (job stored), then the escrow is pulled.
    function _createJob(
        uint256 datasetId,
        uint256 algorithmId,
        address provider,
        uint64 deadline,
        address token,
        uint256 maxPrice
    ) private returns (uint256 jobId) {
        registry.checkJob(datasetId, algorithmId, msg.sender); // license, kinds, trusted list
        Job memory job = _newJob(datasetId, provider, deadline, token, maxPrice);
        jobId = ++jobCount;
        _jobs[jobId] = job;
        emit JobCreated(
            jobId,
            msg.sender,
            provider,
            datasetId,
            algorithmId,
            token,
            job.providerFee,
            job.dataFee,
            job.collateral,
            deadline,
            job.paramsId
        );
        uint256 total = uint256(job.providerFee) + job.dataFee;
        if (total != 0) IERC20(token).safeTransferFrom(msg.sender, address(this), total);
    }

    /// @dev Price, token, deadline and provider checks of a new job. Locks nothing: the provider
    /// locks its collateral when it accepts.
    function _newJob(uint256 datasetId, address provider, uint64 deadline, address token, uint256 maxPrice)
        private
        view
        returns (Job memory job)
    {
        uint16 id = paramsId;
        Params storage current = _paramsById[id];
        if (deadline <= block.timestamp || deadline > block.timestamp + current.maxJobDuration) {
            revert InvalidDeadline(deadline);
        }
        Provider storage account = _providers[provider];
        address priceToken = account.priceToken;
        if (priceToken == address(0)) revert UnknownProvider(provider);
        if (token != priceToken) revert PriceTokenMismatch(provider, priceToken, token);
        if (account.exitAt != 0) revert ProviderExiting(provider);
        uint96 stake = account.stake;
        uint96 minStake = current.minProviderStake;
        if (stake < minStake) revert InsufficientStake(provider, stake, minStake);
        DataFee memory fee = _dataFees[datasetId];
        if (fee.amount != 0) {
            if (fee.token != token) revert FeeTokenMismatch(datasetId, fee.token, token);
            _requirePaymentToken(token); // `payRevenue` needs it when the job settles
        }
        uint256 total = uint256(account.price) + fee.amount;
        if (total > maxPrice) revert PriceAboveMax(total, maxPrice);
        // A COMPUTE license exists only for a published asset, so `datasetId` ≤ assetCount fits 96 bits.
        job = Job({
            buyer: msg.sender,
            deadline: deadline,
            status: JobStatus.Open,
            paramsId: id,
            provider: provider,
            providerFee: account.price,
            token: token,
            dataFee: fee.amount,
            collateral: current.jobCollateral,
            challengeEnd: 0,
            datasetId: uint96(datasetId),
            resultHash: bytes32(0)
        });
    }

    /// @dev The provider takes the job before its deadline: its collateral is locked from free stake.
    function _accept(uint256 jobId, Job storage job) private {
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        address provider = job.provider;
        Provider storage account = _providers[provider];
        if (account.exitAt != 0) revert ProviderExiting(provider);
        uint96 collateral = job.collateral;
        uint96 free = account.stake - account.locked;
        if (free < collateral) revert InsufficientStake(provider, free, collateral);
        account.locked += collateral;
        job.status = JobStatus.Accepted;
        emit JobAccepted(jobId, provider, collateral);
    }

    /// @dev Settle a job in the provider's favour: fee (and the buyer's bond after a dispute) credited
    /// to the provider, data fee split by the registry.
    function _pay(uint256 jobId, Job storage job, uint96 bond) private {
        address provider = job.provider;
        address token = job.token;
        uint96 providerFee = job.providerFee;
        uint96 dataFee = job.dataFee;
        job.status = JobStatus.Finalized;
        _providers[provider].locked -= job.collateral;
        emit JobFinalized(jobId, providerFee, dataFee);
        if (providerFee != 0 || bond != 0) _credit(provider, token, uint256(providerFee) + bond);
        if (dataFee != 0) {
            IERC20(token).forceApprove(address(registry), dataFee);
            registry.payRevenue(job.datasetId, token, dataFee);
        }
    }

    /// @dev Settle a job in the buyer's favour: escrow and `bond` credited to the buyer; if `locked`
    /// the collateral is unlocked and, if `slash`, credited to the buyer out of the provider's stake.
    function _refund(uint256 jobId, Job storage job, bool locked, bool slash, uint96 bond) private {
        address buyer = job.buyer;
        uint96 amount = job.providerFee + job.dataFee + bond;
        job.status = JobStatus.Refunded;
        uint96 slashed = 0;
        if (locked) {
            address provider = job.provider;
            uint96 collateral = job.collateral;
            Provider storage account = _providers[provider];
            account.locked -= collateral;
            if (slash && collateral != 0) {
                slashed = collateral;
                account.stake -= collateral;
                emit ProviderSlashed(provider, jobId, buyer, collateral);
            }
        }
        emit JobRefunded(jobId, buyer, amount, slashed);
        if (amount != 0) _credit(buyer, job.token, amount);
        if (slashed != 0) _credit(buyer, address(_stakeToken), slashed);
    }

    /// @dev The bond a dispute of `job` costs: `disputeBondBps` of its params, of its price.
    function _bond(Job storage job) private view returns (uint96) {
        uint256 price = uint256(job.providerFee) + job.dataFee;
        return uint96(price * _paramsById[job.paramsId].disputeBondBps / BPS);
    }

    function _credit(address account, address token, uint256 amount) private {
        _claims[account][token] += amount;
        emit Credited(account, token, amount);
    }

    function _withdraw(address token, address to) private returns (uint256 amount) {
        amount = _claims[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw();
        _claims[msg.sender][token] = 0;
        emit Withdrawn(msg.sender, token, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /// @dev Checks of one voucher that need no signature: the caller is the channel's provider, the
    /// amount is newer and covered by the deposit. Reads the channel's two first slots once each
    /// (slot 0: buyer | redeemed << 160 | tokenId << 248; slot 1: provider | deposit << 160).
    function _checkVoucher(ChannelRecord storage channel, uint256 channelId, uint256 cumulativeAmount)
        private
        view
        returns (address buyer, uint256 redeemed, uint8 tokenId)
    {
        uint256 head;
        uint256 tail;
        assembly ("memory-safe") {
            head := sload(channel.slot)
            tail := sload(add(channel.slot, 1))
        }
        address provider = address(uint160(tail));
        if (provider != msg.sender) {
            if (provider == address(0)) revert UnknownChannel(channelId);
            revert NotChannelProvider(channelId, msg.sender);
        }
        buyer = address(uint160(head));
        redeemed = uint88(head >> 160);
        tokenId = uint8(head >> 248);
        if (cumulativeAmount <= redeemed) revert VoucherNotNewer(channelId, cumulativeAmount, redeemed);
        uint256 deposit = uint88(tail >> 160);
        if (cumulativeAmount > deposit) revert VoucherExceedsDeposit(channelId, cumulativeAmount, deposit);
    }

    /// @dev `channel.redeemed = amount` for an `amount` ≤ the channel's deposit (so < 2^88), written
    /// into slot 0 with buyer and token id unchanged.
    function _storeRedeemed(ChannelRecord storage channel, address buyer, uint8 tokenId, uint256 amount) private {
        uint256 head = uint256(uint160(buyer)) | (amount << 160) | (uint256(tokenId) << 248);
        assembly ("memory-safe") {
            sstore(channel.slot, head)
        }
    }

    /// @dev Adds `amount` of token `tokenId` to the running batch payout, paying out the previous run
    /// first when the token changes. Sums stay below the total of deposits (uint88 each).
    function _accrue(uint8 pendingToken, uint256 pendingAmount, uint8 tokenId, uint256 amount)
        private
        returns (uint8, uint256)
    {
        if (tokenId != pendingToken) {
            if (pendingAmount != 0) IERC20(_tokensById[pendingToken]).safeTransfer(msg.sender, pendingAmount);
            return (tokenId, amount);
        }
        unchecked {
            return (pendingToken, pendingAmount + amount);
        }
    }

    /// @dev The channel token id of `token`, numbering it on first use (ids from 1).
    function _tokenIdOf(address token) private returns (uint8 id) {
        id = _tokenIds[token];
        if (id == 0) {
            uint8 count = _tokenCount;
            if (count == type(uint8).max) revert TooManyTokens();
            id = count + 1;
            _tokenCount = id;
            _tokenIds[token] = id;
            _tokensById[id] = token;
        }
    }

    function _setParams(Params memory params_) private {
        if (
            params_.challengeWindow < MIN_CHALLENGE_WINDOW || params_.challengeWindow > MAX_CHALLENGE_WINDOW
                || params_.arbitrationPeriod < MIN_ARBITRATION_PERIOD
                || params_.arbitrationPeriod > MAX_ARBITRATION_PERIOD || params_.maxJobDuration < MIN_JOB_DURATION
                || params_.maxJobDuration > MAX_JOB_DURATION || params_.exitDelay > MAX_EXIT_DELAY
                || params_.disputeBondBps > MAX_DISPUTE_BOND_BPS
        ) revert InvalidParams();
        uint16 id = paramsId + 1;
        paramsId = id;
        _paramsById[id] = params_;
        emit ParamsSet(
            id,
            params_.jobCollateral,
            params_.maxJobDuration,
            params_.challengeWindow,
            params_.arbitrationPeriod,
            params_.exitDelay,
            params_.minProviderStake,
            params_.disputeBondBps
        );
    }

    function _registered(address provider) private view returns (Provider storage account) {
        account = _providers[provider];
        if (account.priceToken == address(0)) revert UnknownProvider(provider);
    }

    function _buyerChannel(uint256 channelId) private view returns (ChannelRecord storage channel) {
        channel = _channels[channelId];
        address buyer = channel.buyer;
        if (buyer != msg.sender) {
            if (buyer == address(0)) revert UnknownChannel(channelId);
            revert NotChannelBuyer(channelId, msg.sender);
        }
    }

    /// @dev Reverts unless the job is Open or Accepted; returns whether it is Accepted.
    function _requireUnsettled(uint256 jobId, Job storage job) private view returns (bool accepted) {
        JobStatus status = job.status;
        accepted = status == JobStatus.Accepted;
        if (!accepted && status != JobStatus.Open) revert WrongJobStatus(jobId, status);
    }

    function _requireStatus(uint256 jobId, JobStatus status, JobStatus expected) private pure {
        if (status != expected) revert WrongJobStatus(jobId, status);
    }

    function _requirePaymentToken(address token) private view {
        if (token == address(0)) revert ZeroAddress();
        if (!IPaymentTokenAllowlist(address(registry)).isPaymentToken(token)) revert TokenNotAllowed(token);
    }
}
