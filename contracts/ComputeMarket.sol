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
/// with a challenge window and an arbiter, and EIP-712 voucher payment channels for metered calls.
/// @dev Decisions:
/// - Provider collateral is this contract's own pool in the registry's staking token
///   (`stakeToken`), not the registry's curation stakes. Each job locks `jobCollateral` of its
///   provider's stake; a missed deadline or a dispute the provider loses slashes that collateral
///   to the buyer (the wronged party, so no treasury dependency). Exit: `requestExit` stops new
///   jobs and channels at once, `withdrawStake` returns the stake after `exitDelay` and only when
///   no job still locks collateral, so a provider can never outrun its own slashing.
/// - Job price = provider fee (the provider's `price`, fixed at creation) + optional data fee (set
///   per dataset by its owner with `setComputeFee`, in the provider's token). The buyer also needs a
///   COMPUTE license on the dataset, bought once from the registry. On settlement the provider fee
///   goes straight to the provider, the data fee through `registry.payRevenue`, so protocol,
///   curators and owner get the same split as for a sale.
/// - Channels pay only the provider (the data side is paid by the license). Vouchers are
///   cumulative, so replay is harmless; redemption is allowed until the buyer reclaims the rest
///   after expiry — providers should redeem before expiry.
/// - `pause` stops registrations, new jobs, new channels and top-ups; every settlement, refund,
///   redemption, reclaim and withdrawal keeps working. Settling a job with a data fee calls
///   `payRevenue`, which waits while the registry itself is paused or no longer allows the token.
contract ComputeMarket is IComputeMarket, AccessControl, Pausable, ReentrancyGuard, EIP712 {
    using SafeERC20 for IERC20;

    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @inheritdoc IComputeMarket
    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(uint256 channelId,uint256 cumulativeAmount)");
    uint8 private constant COMPUTE = uint8(IAssetRegistry.Scope.COMPUTE);

    struct DataFee {
        address token;
        uint96 amount;
    }

    /// @inheritdoc IComputeMarket
    IAssetRegistry public immutable registry;
    IERC20 private immutable _stakeToken;

    Params private _params;
    /// @inheritdoc IComputeMarket
    uint256 public jobCount;
    /// @inheritdoc IComputeMarket
    uint256 public channelCount;
    mapping(address provider => Provider) private _providers;
    mapping(uint256 jobId => Job) private _jobs;
    mapping(uint256 channelId => Channel) private _channels;
    mapping(uint256 datasetId => DataFee) private _dataFees;

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
        uint96 minStake = _params.minProviderStake;
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
        availableAt = uint64(block.timestamp) + _params.exitDelay;
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
    function createJob(uint256 datasetId, uint256 algorithmId, address provider, uint64 deadline, uint256 maxPrice)
        external
        nonReentrant
        whenNotPaused
        returns (uint256)
    {
        return _createJob(datasetId, algorithmId, provider, deadline, maxPrice);
    }

    /// @inheritdoc IComputeMarket
    /// @dev The license purchase is an interaction before the job's effects; it is safe because the
    /// registry is fixed at construction, tokens are the registry's allowlisted ones and the whole
    /// call is `nonReentrant`. The registry's allowance is exactly the price and is used up by `buy`.
    function createJobWithLicense(
        uint256 datasetId,
        uint256 offerId,
        uint256 maxLicensePrice,
        uint256 algorithmId,
        address provider,
        uint64 deadline,
        uint256 maxPrice
    ) external nonReentrant whenNotPaused returns (uint256) {
        IAssetRegistry.Offer memory licenseOffer = registry.offer(datasetId, offerId);
        if (licenseOffer.scope != IAssetRegistry.Scope.COMPUTE) revert NotComputeOffer(datasetId, offerId);
        uint256 price = licenseOffer.price;
        if (price > maxLicensePrice) revert PriceAboveMax(price, maxLicensePrice);
        if (price != 0) {
            IERC20 token = IERC20(licenseOffer.token);
            token.safeTransferFrom(msg.sender, address(this), price);
            token.forceApprove(address(registry), price);
        }
        registry.buy(datasetId, offerId, msg.sender, price);
        return _createJob(datasetId, algorithmId, provider, deadline, maxPrice);
    }

    /// @inheritdoc IComputeMarket
    function submitResult(uint256 jobId, IAssetRegistry.Cid calldata resultCid, bytes32 resultHash) external {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Open);
        if (msg.sender != job.provider) revert NotJobProvider(jobId, msg.sender);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        if (resultCid.digest == bytes32(0) || resultHash == bytes32(0)) revert EmptyResult(jobId);
        uint64 challengeEnd = uint64(block.timestamp) + _params.challengeWindow;
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
        _pay(jobId, job);
    }

    /// @inheritdoc IComputeMarket
    function dispute(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Submitted);
        if (msg.sender != job.buyer) revert NotJobBuyer(jobId, msg.sender);
        if (block.timestamp > job.challengeEnd) revert ChallengeWindowClosed(jobId, job.challengeEnd);
        job.status = JobStatus.Disputed;
        emit JobDisputed(jobId);
    }

    /// @inheritdoc IComputeMarket
    function resolveDispute(uint256 jobId, bool payProvider) external nonReentrant onlyRole(ARBITER_ROLE) {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Disputed);
        emit DisputeResolved(jobId, payProvider, msg.sender);
        if (payProvider) _pay(jobId, job);
        else _refund(jobId, job, true);
    }

    /// @inheritdoc IComputeMarket
    function settleStaleDispute(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Disputed);
        uint256 staleAt = uint256(job.challengeEnd) + _params.arbitrationPeriod;
        if (block.timestamp <= staleAt) revert DisputeNotStale(jobId, staleAt);
        _refund(jobId, job, false);
    }

    /// @inheritdoc IComputeMarket
    function expire(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Open);
        if (block.timestamp <= job.deadline) revert DeadlineNotPassed(jobId, job.deadline);
        _refund(jobId, job, true);
    }

    /// @inheritdoc IComputeMarket
    function declineJob(uint256 jobId) external nonReentrant {
        Job storage job = _jobs[jobId];
        _requireStatus(jobId, job.status, JobStatus.Open);
        if (msg.sender != job.provider) revert NotJobProvider(jobId, msg.sender);
        emit JobDeclined(jobId);
        _refund(jobId, job, false);
    }

    // ------------------------------------------------------------------ channels

    /// @inheritdoc IComputeMarket
    function openChannel(address provider, uint96 deposit, uint64 expiry)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 channelId)
    {
        Provider storage account = _registered(provider);
        if (account.exitAt != 0) revert ProviderExiting(provider);
        uint96 minStake = _params.minProviderStake;
        if (account.stake < minStake) revert InsufficientStake(provider, account.stake, minStake);
        if (expiry <= block.timestamp) revert InvalidExpiry(expiry);
        if (deposit == 0) revert ZeroAmount();
        address token = account.priceToken;
        channelId = ++channelCount;
        _channels[channelId] = Channel(msg.sender, expiry, token, deposit, provider, 0);
        emit ChannelOpened(channelId, msg.sender, provider, token, deposit, expiry);
        IERC20(token).safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @inheritdoc IComputeMarket
    function topUp(uint256 channelId, uint96 amount) external nonReentrant whenNotPaused {
        Channel storage channel = _buyerChannel(channelId);
        if (amount == 0) revert ZeroAmount();
        uint96 deposit = channel.deposit + amount;
        channel.deposit = deposit;
        emit ChannelToppedUp(channelId, amount, deposit);
        IERC20(channel.token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IComputeMarket
    function extend(uint256 channelId, uint64 newExpiry) external {
        Channel storage channel = _buyerChannel(channelId);
        if (newExpiry <= channel.expiry || newExpiry <= block.timestamp) revert InvalidExpiry(newExpiry);
        channel.expiry = newExpiry;
        emit ChannelExtended(channelId, newExpiry);
    }

    /// @inheritdoc IComputeMarket
    function redeem(uint256 channelId, uint256 cumulativeAmount, bytes calldata signature) external nonReentrant {
        (address token, uint96 amount) = _redeem(channelId, cumulativeAmount, signature);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IComputeMarket
    function redeemMany(SignedVoucher[] calldata vouchers) external nonReentrant {
        if (vouchers.length == 0) revert EmptyBatch();
        address pendingToken = address(0);
        uint256 pendingAmount = 0;
        for (uint256 i; i < vouchers.length; ++i) {
            SignedVoucher calldata voucher = vouchers[i];
            (address token, uint96 amount) = _redeem(voucher.channelId, voucher.cumulativeAmount, voucher.signature);
            if (token != pendingToken) {
                if (pendingAmount != 0) IERC20(pendingToken).safeTransfer(msg.sender, pendingAmount);
                pendingToken = token;
                pendingAmount = 0;
            }
            pendingAmount += amount;
        }
        IERC20(pendingToken).safeTransfer(msg.sender, pendingAmount);
    }

    /// @inheritdoc IComputeMarket
    function reclaim(uint256 channelId) external nonReentrant returns (uint96 amount) {
        Channel storage channel = _buyerChannel(channelId);
        if (block.timestamp < channel.expiry) revert ChannelNotExpired(channelId, channel.expiry);
        uint96 redeemed = channel.redeemed;
        amount = channel.deposit - redeemed;
        if (amount == 0) revert NothingToReclaim(channelId);
        channel.deposit = redeemed;
        emit ChannelReclaimed(channelId, amount);
        IERC20(channel.token).safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ admin

    /// @notice Set the market parameters (admin). Jobs already created keep their collateral and
    /// deadline; a changed window or delay applies from the next result or exit request.
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
        return _channels[channelId];
    }

    /// @inheritdoc IComputeMarket
    function computeFee(uint256 datasetId) external view returns (address token, uint96 amount) {
        DataFee memory fee = _dataFees[datasetId];
        return (fee.token, fee.amount);
    }

    /// @inheritdoc IComputeMarket
    function params() external view returns (Params memory) {
        return _params;
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

    /// @dev Checks, effects (collateral locked, job stored), then the escrow is pulled.
    function _createJob(uint256 datasetId, uint256 algorithmId, address provider, uint64 deadline, uint256 maxPrice)
        private
        returns (uint256 jobId)
    {
        if (!registry.hasLicense(datasetId, msg.sender, COMPUTE)) revert NotLicensed(datasetId, msg.sender);
        IAssetRegistry.Kind kind = registry.assetInfo(algorithmId).kind;
        if (kind == IAssetRegistry.Kind.DATASET) revert WrongAssetKind(algorithmId, kind);
        Job memory job = _newJob(datasetId, provider, deadline, maxPrice);
        jobId = ++jobCount;
        _jobs[jobId] = job;
        emit JobCreated(
            jobId,
            msg.sender,
            provider,
            datasetId,
            algorithmId,
            job.token,
            job.providerFee,
            job.dataFee,
            job.collateral,
            deadline
        );
        uint256 total = uint256(job.providerFee) + job.dataFee;
        if (total != 0) IERC20(job.token).safeTransferFrom(msg.sender, address(this), total);
    }

    /// @dev Price, deadline and stake checks of a new job; locks the provider's collateral.
    function _newJob(uint256 datasetId, address provider, uint64 deadline, uint256 maxPrice)
        private
        returns (Job memory job)
    {
        uint96 collateral = _params.jobCollateral;
        if (deadline <= block.timestamp || deadline > block.timestamp + _params.maxJobDuration) {
            revert InvalidDeadline(deadline);
        }
        Provider storage account = _providers[provider];
        address token = account.priceToken;
        if (token == address(0)) revert UnknownProvider(provider);
        if (account.exitAt != 0) revert ProviderExiting(provider);
        uint96 stake = account.stake;
        uint96 locked = account.locked;
        if (stake - locked < collateral) revert InsufficientStake(provider, stake - locked, collateral);
        uint96 minStake = _params.minProviderStake;
        if (stake < minStake) revert InsufficientStake(provider, stake, minStake);
        DataFee memory fee = _dataFees[datasetId];
        if (fee.amount != 0) {
            if (fee.token != token) revert FeeTokenMismatch(datasetId, fee.token, token);
            _requirePaymentToken(token); // `payRevenue` needs it when the job settles
        }
        uint256 total = uint256(account.price) + fee.amount;
        if (total > maxPrice) revert PriceAboveMax(total, maxPrice);
        account.locked = locked + collateral;
        // A COMPUTE license exists only for a published asset, so `datasetId` ≤ assetCount fits 96 bits.
        job = Job({
            buyer: msg.sender,
            deadline: deadline,
            status: JobStatus.Open,
            provider: provider,
            providerFee: account.price,
            token: token,
            dataFee: fee.amount,
            collateral: collateral,
            challengeEnd: 0,
            datasetId: uint96(datasetId),
            resultHash: bytes32(0)
        });
    }

    /// @dev Settle a job in the provider's favour: fee to the provider, data fee split by the registry.
    function _pay(uint256 jobId, Job storage job) private {
        address provider = job.provider;
        IERC20 token = IERC20(job.token);
        uint96 providerFee = job.providerFee;
        uint96 dataFee = job.dataFee;
        job.status = JobStatus.Finalized;
        _providers[provider].locked -= job.collateral;
        emit JobFinalized(jobId, providerFee, dataFee);
        if (providerFee != 0) token.safeTransfer(provider, providerFee);
        if (dataFee != 0) {
            token.forceApprove(address(registry), dataFee);
            registry.payRevenue(job.datasetId, address(token), dataFee);
        }
    }

    /// @dev Settle a job in the buyer's favour: escrow back, collateral unlocked and, if `slash`,
    /// paid to the buyer out of the provider's stake.
    function _refund(uint256 jobId, Job storage job, bool slash) private {
        address buyer = job.buyer;
        address provider = job.provider;
        address token = job.token;
        uint96 amount = job.providerFee + job.dataFee;
        uint96 collateral = job.collateral;
        job.status = JobStatus.Refunded;
        Provider storage account = _providers[provider];
        account.locked -= collateral;
        uint96 slashed = 0;
        if (slash && collateral != 0) {
            slashed = collateral;
            account.stake -= collateral;
            emit ProviderSlashed(provider, jobId, buyer, collateral);
        }
        emit JobRefunded(jobId, buyer, amount, slashed);
        if (token == address(_stakeToken)) {
            if (amount + slashed != 0) _stakeToken.safeTransfer(buyer, uint256(amount) + slashed);
        } else {
            if (amount != 0) IERC20(token).safeTransfer(buyer, amount);
            if (slashed != 0) _stakeToken.safeTransfer(buyer, slashed);
        }
    }

    /// @dev Checks and effects of one voucher; the caller transfers `amount` of `token`.
    function _redeem(uint256 channelId, uint256 cumulativeAmount, bytes calldata signature)
        private
        returns (address token, uint96 amount)
    {
        Channel storage channel = _channels[channelId];
        address provider = channel.provider;
        if (provider != msg.sender) {
            if (provider == address(0)) revert UnknownChannel(channelId);
            revert NotChannelProvider(channelId, msg.sender);
        }
        uint96 redeemed = channel.redeemed;
        if (cumulativeAmount <= redeemed) revert VoucherNotNewer(channelId, cumulativeAmount, redeemed);
        uint96 deposit = channel.deposit;
        if (cumulativeAmount > deposit) revert VoucherExceedsDeposit(channelId, cumulativeAmount, deposit);
        if (!SignatureCheck.isValidSignatureNow(channel.buyer, voucherDigest(channelId, cumulativeAmount), signature))
        {
            revert InvalidVoucherSignature(channelId);
        }
        uint96 total = uint96(cumulativeAmount); // ≤ deposit, a uint96
        channel.redeemed = total;
        amount = total - redeemed;
        token = channel.token;
        emit ChannelRedeemed(channelId, amount, total);
    }

    function _setParams(Params memory params_) private {
        if (params_.challengeWindow == 0 || params_.maxJobDuration == 0) revert InvalidParams();
        _params = params_;
        emit ParamsSet(
            params_.jobCollateral,
            params_.maxJobDuration,
            params_.challengeWindow,
            params_.arbitrationPeriod,
            params_.exitDelay,
            params_.minProviderStake
        );
    }

    function _registered(address provider) private view returns (Provider storage account) {
        account = _providers[provider];
        if (account.priceToken == address(0)) revert UnknownProvider(provider);
    }

    function _buyerChannel(uint256 channelId) private view returns (Channel storage channel) {
        channel = _channels[channelId];
        address buyer = channel.buyer;
        if (buyer != msg.sender) {
            if (buyer == address(0)) revert UnknownChannel(channelId);
            revert NotChannelBuyer(channelId, msg.sender);
        }
    }

    function _requireStatus(uint256 jobId, JobStatus status, JobStatus expected) private pure {
        if (status != expected) revert WrongJobStatus(jobId, status);
    }

    function _requirePaymentToken(address token) private view {
        if (token == address(0)) revert ZeroAddress();
        if (!IPaymentTokenAllowlist(address(registry)).isPaymentToken(token)) revert TokenNotAllowed(token);
    }
}
