// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {ILicenseOracle} from "./interfaces/ILicenseOracle.sol";
import {ILicenseTokens} from "./interfaces/ILicenseTokens.sol";
import {CurationStaking} from "./lib/CurationStaking.sol";

/// @title AssetRegistry
/// @notice Datasets, models and algorithms as ERC-721 tokens ("DDA"), their offers and licenses,
/// the split of every payment, and curation staking. `hasLicense` is the one question the
/// gateway and other protocols ask.
contract AssetRegistry is IAssetRegistry, ERC721, AccessControl, Pausable, CurationStaking {
    using SafeERC20 for IERC20;

    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 1000;
    uint16 public constant MAX_CURATOR_SHARE_BPS = 5000;
    /// @notice Floor of the unbonding delay (also the stake warm-up and the notice of a curator
    /// share cut): with 0, a stake could enter and leave around one sale in one block.
    uint32 public constant MIN_UNBONDING_DELAY = 1 days;
    uint16 private constant BPS = 10_000;
    uint64 private constant PERPETUAL = type(uint64).max;

    /// @dev One slot read per sale: where the fee goes, how large it is, the unbonding delay.
    struct Config {
        address treasury;
        uint16 protocolFeeBps;
        uint32 unbondingDelay;
    }

    /// @dev `AssetInfo` plus a scheduled cut of the curators' share, still one slot.
    struct AssetRecord {
        Kind kind;
        bool retired;
        uint16 curatorShareBps; // in force until `shareEffectiveAt`
        uint32 versionCount;
        uint32 offerCount;
        uint16 pendingShareBps; // in force from `shareEffectiveAt` (0 = nothing scheduled)
        uint64 shareEffectiveAt;
    }

    struct VersionRecord {
        bytes32 contentDigest;
        bytes32 metadataDigest;
        uint64 contentCodec;
        uint64 metadataCodec;
        uint64 publishedAt;
    }

    /// @dev Bought and granted ends per scope, in one slot: a revoked grant never touches what
    /// was paid for.
    struct LicenseRecord {
        uint64 boughtDownload;
        uint64 boughtCompute;
        uint64 grantedDownload;
        uint64 grantedCompute;
    }

    Config public config;
    uint256 private _assetCount;
    mapping(uint256 assetId => AssetRecord) private _assets;
    mapping(uint256 assetId => mapping(uint256 number => VersionRecord)) private _versions;
    mapping(uint256 assetId => mapping(uint256 offerId => Offer)) private _offers;
    mapping(uint256 assetId => mapping(address account => LicenseRecord)) private _licenses;
    mapping(uint256 datasetId => ComputePolicy) private _computePolicies;
    /// @dev 0 = not listed, else the pinned version + 1 (1 = any version).
    mapping(uint256 datasetId => mapping(uint256 algorithmId => uint64)) private _trustedAlgorithms;
    /// @notice The licence-token contract (contracts/LicenseTokens.sol), set once by the admin.
    /// Asked by `licenseExpiry` only when an account has no running address-bound licence.
    address public licenseTokens;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE and PAUSER_ROLE.
    /// @param treasury Receiver of the protocol fee.
    /// @param stakingToken_ The ERC-20 curators stake.
    /// @param paymentTokens_ Tokens offers may be priced in (at most 8 over the contract's life).
    constructor(
        address admin,
        address treasury,
        uint16 protocolFeeBps,
        uint32 unbondingDelay_,
        IERC20 stakingToken_,
        address[] memory paymentTokens_
    ) ERC721("DataDAO Asset", "DDA") CurationStaking(stakingToken_) {
        if (admin == address(0) || treasury == address(0)) revert ZeroAddress();
        if (protocolFeeBps > MAX_PROTOCOL_FEE_BPS) revert FeeTooHigh(protocolFeeBps, MAX_PROTOCOL_FEE_BPS);
        _checkUnbondingDelay(unbondingDelay_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        config = Config(treasury, protocolFeeBps, unbondingDelay_);
        emit TreasurySet(treasury);
        emit ProtocolFeeSet(protocolFeeBps);
        emit UnbondingDelaySet(unbondingDelay_);
        for (uint256 i; i < paymentTokens_.length; ++i) {
            _setPaymentToken(paymentTokens_[i], true);
        }
    }

    // ------------------------------------------------------------------ assets

    /// @inheritdoc IAssetRegistry
    function publish(
        Kind kind,
        Cid calldata content,
        Cid calldata metadata,
        uint16 curatorShareBps,
        OfferInput[] calldata offers
    ) external whenNotPaused returns (uint256 assetId) {
        if (offers.length == 0) revert NoOffers();
        _checkCuratorShare(curatorShareBps);
        assetId = ++_assetCount;
        _assets[assetId] = AssetRecord(kind, false, curatorShareBps, 1, uint32(offers.length), 0, 0);
        _storeVersion(assetId, 1, content, metadata);
        _mint(msg.sender, assetId);
        emit AssetPublished(assetId, msg.sender, kind, content, metadata, curatorShareBps);
        for (uint256 i; i < offers.length; ++i) {
            _storeOffer(assetId, uint32(i + 1), offers[i], true);
        }
    }

    /// @inheritdoc IAssetRegistry
    function addVersion(uint256 assetId, Cid calldata content, Cid calldata metadata)
        external
        whenNotPaused
        returns (uint32 number)
    {
        _requireAssetOwner(assetId);
        AssetRecord storage asset = _assets[assetId];
        if (asset.retired) revert AssetIsRetired(assetId);
        number = asset.versionCount + 1;
        asset.versionCount = number;
        _storeVersion(assetId, number, content, metadata);
        emit VersionAdded(assetId, number, content, metadata);
    }

    /// @inheritdoc IAssetRegistry
    function retire(uint256 assetId) external {
        _requireAssetOwner(assetId);
        AssetRecord storage asset = _assets[assetId];
        if (asset.retired) revert AssetIsRetired(assetId);
        asset.retired = true;
        emit AssetRetired(assetId);
    }

    /// @inheritdoc IAssetRegistry
    function setOffer(uint256 assetId, uint256 offerId, OfferInput calldata input) external returns (uint32) {
        _requireAssetOwner(assetId);
        AssetRecord storage asset = _assets[assetId];
        if (asset.retired) revert AssetIsRetired(assetId);
        uint32 count = asset.offerCount;
        if (offerId == 0 || offerId > uint256(count) + 1) revert UnknownOffer(assetId, offerId);
        if (offerId == uint256(count) + 1) asset.offerCount = count + 1;
        _storeOffer(assetId, uint32(offerId), input, true);
        return uint32(offerId);
    }

    /// @inheritdoc IAssetRegistry
    function setOfferActive(uint256 assetId, uint256 offerId, bool active) external {
        _requireAssetOwner(assetId);
        Offer storage stored = _existingOffer(assetId, offerId);
        stored.active = active;
        emit OfferSet(assetId, uint32(offerId), stored.token, stored.price, stored.duration, stored.scope, active);
    }

    /// @inheritdoc IAssetRegistry
    function setCuratorShare(uint256 assetId, uint16 curatorShareBps) external {
        _requireAssetOwner(assetId);
        _checkCuratorShare(curatorShareBps);
        AssetRecord storage asset = _assets[assetId];
        uint16 current = _curatorShare(asset);
        if (curatorShareBps >= current) {
            (asset.curatorShareBps, asset.pendingShareBps, asset.shareEffectiveAt) = (curatorShareBps, 0, 0);
            emit CuratorShareSet(assetId, curatorShareBps);
        } else {
            uint64 effectiveAt = uint64(block.timestamp) + config.unbondingDelay;
            (asset.curatorShareBps, asset.pendingShareBps, asset.shareEffectiveAt) =
                (current, curatorShareBps, effectiveAt);
            emit CuratorShareScheduled(assetId, curatorShareBps, effectiveAt);
        }
    }

    /// @inheritdoc IAssetRegistry
    function pendingCuratorShare(uint256 assetId) external view returns (uint16 curatorShareBps, uint64 effectiveAt) {
        _requireExists(assetId);
        AssetRecord storage asset = _assets[assetId];
        effectiveAt = asset.shareEffectiveAt;
        if (effectiveAt > block.timestamp) return (asset.pendingShareBps, effectiveAt);
        return (_curatorShare(asset), 0);
    }

    /// @inheritdoc IAssetRegistry
    /// @dev `curatorShareBps` is the share in force now (a scheduled cut counts once it is due).
    function assetInfo(uint256 assetId) external view returns (AssetInfo memory) {
        _requireExists(assetId);
        AssetRecord storage asset = _assets[assetId];
        return AssetInfo(asset.kind, asset.retired, _curatorShare(asset), asset.versionCount, asset.offerCount);
    }

    /// @inheritdoc IAssetRegistry
    function version(uint256 assetId, uint256 number) public view returns (Version memory) {
        _requireExists(assetId);
        if (number == 0 || number > _assets[assetId].versionCount) revert UnknownVersion(assetId, number);
        VersionRecord storage record = _versions[assetId][number];
        return Version(
            Cid(record.contentDigest, record.contentCodec),
            Cid(record.metadataDigest, record.metadataCodec),
            record.publishedAt
        );
    }

    /// @inheritdoc IAssetRegistry
    function latestVersion(uint256 assetId) external view returns (Version memory) {
        _requireExists(assetId);
        return version(assetId, _assets[assetId].versionCount);
    }

    /// @inheritdoc IAssetRegistry
    function offer(uint256 assetId, uint256 offerId) external view returns (Offer memory) {
        return _existingOffer(assetId, offerId);
    }

    /// @inheritdoc IAssetRegistry
    function assetCount() external view returns (uint256) {
        return _assetCount;
    }

    // ------------------------------------------------------------------ licenses

    /// @inheritdoc IAssetRegistry
    function buy(
        uint256 assetId,
        uint256 offerId,
        address licensee,
        address token,
        uint256 maxPrice,
        uint64 duration,
        Scope scope
    ) external nonReentrant whenNotPaused returns (uint64 expiresAt) {
        return _buyOne(assetId, offerId, licensee, token, maxPrice, duration, scope);
    }

    /// @inheritdoc IAssetRegistry
    function buyWithPermit(
        uint256 assetId,
        uint256 offerId,
        address licensee,
        address token,
        uint256 maxPrice,
        uint64 duration,
        Scope scope,
        Permit calldata permit
    ) external nonReentrant whenNotPaused returns (uint64 expiresAt) {
        _permit(token, permit);
        return _buyOne(assetId, offerId, licensee, token, maxPrice, duration, scope);
    }

    /// @inheritdoc IAssetRegistry
    function buyMany(Order[] calldata orders) external nonReentrant whenNotPaused {
        _sellMany(orders);
    }

    /// @inheritdoc IAssetRegistry
    function buyManyWithPermit(Order[] calldata orders, address token, Permit calldata permit)
        external
        nonReentrant
        whenNotPaused
    {
        _permit(token, permit);
        _sellMany(orders);
    }

    /// @inheritdoc IAssetRegistry
    function grant(uint256 assetId, address licensee, Scope scope, uint64 expiresAt) external {
        _requireAssetOwner(assetId);
        if (licensee == address(0)) revert ZeroAddress();
        if (expiresAt <= block.timestamp) revert GrantExpired(expiresAt);
        _setGrant(assetId, licensee, scope, expiresAt);
        emit LicenseGranted(assetId, licensee, scope, expiresAt);
    }

    /// @inheritdoc IAssetRegistry
    function revokeGrant(uint256 assetId, address licensee, Scope scope) external {
        _requireAssetOwner(assetId);
        _setGrant(assetId, licensee, scope, 0);
        emit LicenseGrantRevoked(assetId, licensee, scope);
    }

    /// @inheritdoc ILicenseOracle
    function hasLicense(uint256 assetId, address account, uint8 scope) external view returns (bool) {
        return licenseExpiry(assetId, account, scope) > block.timestamp;
    }

    /// @inheritdoc ILicenseOracle
    /// @dev An address-bound licence, else (when none runs) a licence token the account holds.
    function licenseExpiry(uint256 assetId, address account, uint8 scope) public view returns (uint64 expiresAt) {
        LicenseRecord memory record = _licenses[assetId][account];
        if (scope == uint8(Scope.DOWNLOAD)) expiresAt = _later(record.boughtDownload, record.grantedDownload);
        else if (scope == uint8(Scope.COMPUTE)) expiresAt = _later(record.boughtCompute, record.grantedCompute);
        else revert UnknownScope(scope);
        if (expiresAt <= block.timestamp) {
            address tokens = licenseTokens; // read only here: a running licence costs nothing more
            if (tokens != address(0)) {
                expiresAt = _later(expiresAt, ILicenseOracle(tokens).licenseExpiry(assetId, account, scope));
            }
        }
    }

    /// @notice Take payment for a licence token sold under an offer: the offer's checks of
    /// `buy`, the split of a sale, and `payer`'s tokens pulled. Only `licenseTokens` calls it.
    function chargeOffer(
        address payer,
        uint256 assetId,
        uint256 offerId,
        address token,
        uint256 maxPrice,
        uint64 duration,
        Scope scope
    ) external nonReentrant whenNotPaused {
        if (msg.sender != licenseTokens) revert NotLicenseTokens(msg.sender);
        (uint256 price, uint256 tokenIndex) = _checkOffer(assetId, offerId, token, maxPrice, duration, scope);
        if (price != 0) _take(assetId, token, tokenIndex, price, payer);
    }

    /// @notice Name the licence-token contract; once.
    function setLicenseTokens(address tokens) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (licenseTokens != address(0)) revert LicenseTokensSet(licenseTokens);
        licenseTokens = tokens;
    }

    // ------------------------------------------------------------------ compute policy

    /// @inheritdoc IAssetRegistry
    function setComputePolicy(uint256 datasetId, bool anyAlgorithm, uint64 maxResultBytes, uint32 logTailBytes)
        external
    {
        _requireDatasetOwner(datasetId);
        _computePolicies[datasetId] = ComputePolicy(anyAlgorithm, maxResultBytes, logTailBytes);
        emit ComputePolicySet(datasetId, anyAlgorithm, maxResultBytes, logTailBytes);
    }

    /// @inheritdoc IAssetRegistry
    function trustAlgorithm(uint256 datasetId, uint256 algorithmId, uint32 version_) external {
        _requireDatasetOwner(datasetId);
        AssetRecord storage algorithm = _runnable(algorithmId);
        if (version_ > algorithm.versionCount) revert UnknownVersion(algorithmId, version_);
        _trustedAlgorithms[datasetId][algorithmId] = uint64(version_) + 1;
        emit AlgorithmTrusted(datasetId, algorithmId, version_);
    }

    /// @inheritdoc IAssetRegistry
    function untrustAlgorithm(uint256 datasetId, uint256 algorithmId) external {
        _requireDatasetOwner(datasetId);
        if (_trustedAlgorithms[datasetId][algorithmId] == 0) revert AlgorithmNotTrusted(datasetId, algorithmId);
        delete _trustedAlgorithms[datasetId][algorithmId];
        emit AlgorithmUntrusted(datasetId, algorithmId);
    }

    /// @inheritdoc IAssetRegistry
    function computePolicy(uint256 datasetId) external view returns (ComputePolicy memory) {
        return _computePolicies[datasetId];
    }

    /// @inheritdoc IAssetRegistry
    function trustedAlgorithm(uint256 datasetId, uint256 algorithmId)
        external
        view
        returns (bool trusted, uint32 version_)
    {
        uint64 entry = _trustedAlgorithms[datasetId][algorithmId];
        return (entry != 0, entry == 0 ? 0 : uint32(entry - 1));
    }

    /// @inheritdoc IAssetRegistry
    function checkJob(uint256 datasetId, uint256 algorithmId, address buyer)
        external
        view
        returns (uint32 algorithmVersion)
    {
        _requireDataset(datasetId);
        if (licenseExpiry(datasetId, buyer, uint8(Scope.COMPUTE)) <= block.timestamp) {
            revert NotLicensed(datasetId, buyer);
        }
        AssetRecord storage algorithm = _runnable(algorithmId);
        if (algorithm.retired) revert AssetIsRetired(algorithmId);
        uint64 entry = _trustedAlgorithms[datasetId][algorithmId];
        if (entry == 0 && !_computePolicies[datasetId].anyAlgorithm) revert AlgorithmNotTrusted(datasetId, algorithmId);
        bool ownsAlgorithm = _ownerOf(algorithmId) == buyer;
        if (!ownsAlgorithm && licenseExpiry(algorithmId, buyer, uint8(Scope.COMPUTE)) <= block.timestamp) {
            revert NotLicensed(algorithmId, buyer);
        }
        return entry > 1 ? uint32(entry - 1) : algorithm.versionCount;
    }

    // ------------------------------------------------------------------ revenue

    /// @inheritdoc IAssetRegistry
    function payRevenue(uint256 assetId, address token, uint256 amount) external nonReentrant whenNotPaused {
        _requireExists(assetId);
        if (amount == 0) revert ZeroAmount();
        _take(assetId, token, _requireAllowedToken(token), amount, msg.sender);
    }

    // ------------------------------------------------------------------ admin

    /// @notice Set the protocol fee taken from every payment, in basis points (≤ 1000).
    function setProtocolFee(uint16 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeBps > MAX_PROTOCOL_FEE_BPS) revert FeeTooHigh(feeBps, MAX_PROTOCOL_FEE_BPS);
        config.protocolFeeBps = feeBps;
        emit ProtocolFeeSet(feeBps);
    }

    /// @notice Set where protocol fees are credited from now on.
    function setTreasury(address treasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury == address(0)) revert ZeroAddress();
        _settleFees(config.treasury);
        config.treasury = treasury;
        emit TreasurySet(treasury);
    }

    /// @notice Allow or disallow a payment token for new offers and sales. Balances already
    /// credited in it stay withdrawable.
    function setPaymentToken(address token, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setPaymentToken(token, allowed);
    }

    /// @notice Set the delay between `requestUnstake` and `withdrawStake` for new requests.
    /// @dev At least MIN_UNBONDING_DELAY. Also the warm-up of new stakes and the notice of curator
    /// share cuts scheduled from now on.
    function setUnbondingDelay(uint32 delaySeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkUnbondingDelay(delaySeconds);
        config.unbondingDelay = delaySeconds;
        emit UnbondingDelaySet(delaySeconds);
    }

    /// @notice Stop publishing, new versions, sales, revenue and new stakes. Withdrawals, claims
    /// and unstaking continue.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resume what `pause` stopped.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    function _treasury() internal view override returns (address) {
        return config.treasury;
    }

    /// @inheritdoc CurationStaking
    function unbondingDelay() public view override returns (uint32) {
        return config.unbondingDelay;
    }

    /// @notice The asset's marketplace document (ipfs://), kept by `licenseTokens`.
    function tokenURI(uint256 assetId) public view override returns (string memory uri) {
        _requireExists(assetId);
        _relay(abi.encodeCall(ILicenseTokens.assetURI, (assetId)));
    }

    /// @notice The collection's marketplace document (ERC-7572), kept by `licenseTokens`.
    function contractURI() external view returns (string memory uri) {
        _relay(abi.encodeCall(ILicenseTokens.assetsContractURI, ()));
    }

    /// @dev Return `licenseTokens`' answer to `data` as it is (an ABI-encoded string): no decoding
    /// and re-encoding in the registry, whose bytecode is near the EIP-170 limit.
    function _relay(bytes memory data) private view {
        (bool ok, bytes memory answer) = licenseTokens.staticcall(data);
        assembly ("memory-safe") {
            if iszero(ok) { revert(add(answer, 32), mload(answer)) }
            return(add(answer, 32), mload(answer))
        }
    }

    /// @notice ERC-165: ERC-721, AccessControl and ILicenseOracle.
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, AccessControl) returns (bool) {
        return interfaceId == type(ILicenseOracle).interfaceId || ERC721.supportsInterface(interfaceId)
            || AccessControl.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ internals

    /// @dev One sale: checks and effects (license extended, revenue credited), then the payment.
    function _buyOne(
        uint256 assetId,
        uint256 offerId,
        address licensee,
        address token,
        uint256 maxPrice,
        uint64 duration,
        Scope scope
    ) private returns (uint64 expiresAt) {
        uint256 price;
        uint256 tokenIndex;
        (price, tokenIndex, expiresAt) = _license(assetId, offerId, licensee, token, maxPrice, duration, scope);
        if (price != 0) _take(assetId, token, tokenIndex, price, msg.sender);
    }

    /// @dev Split `amount` as revenue of the asset and pull it from `payer`.
    function _take(uint256 assetId, address token, uint256 tokenIndex, uint256 amount, address payer) private {
        _split(assetId, token, tokenIndex, amount, _loadConfig());
        IERC20(token).safeTransferFrom(payer, address(this), amount);
    }

    function _sellMany(Order[] calldata orders) private {
        if (orders.length == 0) revert EmptyOrder();
        Config memory cfg = _loadConfig();
        address pendingToken = address(0);
        uint256 pendingAmount = 0;
        for (uint256 i; i < orders.length; ++i) {
            Order calldata order = orders[i];
            (uint256 price, uint256 tokenIndex,) = _license(
                order.assetId, order.offerId, order.licensee, order.token, order.maxPrice, order.duration, order.scope
            );
            if (price == 0) continue;
            address token = order.token;
            _split(order.assetId, token, tokenIndex, price, cfg);
            if (token != pendingToken) {
                if (pendingAmount != 0) IERC20(pendingToken).safeTransferFrom(msg.sender, address(this), pendingAmount);
                pendingToken = token;
                pendingAmount = 0;
            }
            pendingAmount += price;
        }
        if (pendingAmount != 0) IERC20(pendingToken).safeTransferFrom(msg.sender, address(this), pendingAmount);
    }

    /// @dev Record a purchase: offer checks against the buyer's terms, license extension, event.
    function _license(
        uint256 assetId,
        uint256 offerId,
        address licensee,
        address token,
        uint256 maxPrice,
        uint64 duration,
        Scope scope
    ) private returns (uint256 price, uint256 tokenIndex, uint64 expiresAt) {
        if (licensee == address(0)) revert ZeroAddress();
        (price, tokenIndex) = _checkOffer(assetId, offerId, token, maxPrice, duration, scope);
        LicenseRecord storage record = _licenses[assetId][licensee];
        if (scope == Scope.DOWNLOAD) {
            expiresAt = _extend(record.boughtDownload, duration);
            record.boughtDownload = expiresAt;
        } else {
            expiresAt = _extend(record.boughtCompute, duration);
            record.boughtCompute = expiresAt;
        }
        emit LicensePurchased(assetId, uint32(offerId), licensee, msg.sender, scope, token, price, expiresAt);
    }

    /// @dev The offer is on sale on the buyer's terms: its price and payment token's index.
    function _checkOffer(
        uint256 assetId,
        uint256 offerId,
        address token,
        uint256 maxPrice,
        uint64 duration,
        Scope scope
    ) private view returns (uint256 price, uint256 tokenIndex) {
        if (_assets[assetId].retired) revert AssetIsRetired(assetId);
        Offer memory chosen = _existingOffer(assetId, offerId);
        if (!chosen.active) revert OfferInactive(assetId, offerId);
        if (chosen.token != token || chosen.duration != duration || chosen.scope != scope) {
            revert OfferTermsChanged(assetId, offerId);
        }
        price = chosen.price;
        if (price > maxPrice) revert PriceAboveMax(price, maxPrice);
        tokenIndex = _requireAllowedToken(token);
    }

    /// @dev Split `amount` into protocol fee, curators' share and owner's share, all credited.
    function _split(uint256 assetId, address token, uint256 tokenIndex, uint256 amount, Config memory cfg) private {
        uint256 fee = amount * cfg.protocolFeeBps / BPS;
        uint256 curators = amount * _curatorShare(_assets[assetId]) / BPS;
        uint256 rest = _distribute(assetId, tokenIndex, curators);
        address owner = _ownerOf(assetId);
        uint256 ownerAmount = amount - fee - curators + rest;
        _creditFee(token, fee);
        _credit(owner, token, ownerAmount);
        emit RevenueSplit(assetId, token, owner, ownerAmount, curators - rest, fee);
    }

    function _setGrant(uint256 assetId, address licensee, Scope scope, uint64 expiresAt) private {
        LicenseRecord storage record = _licenses[assetId][licensee];
        if (scope == Scope.DOWNLOAD) record.grantedDownload = expiresAt;
        else record.grantedCompute = expiresAt;
    }

    function _extend(uint64 current, uint64 duration) private view returns (uint64) {
        if (duration == 0 || current == PERPETUAL) return PERPETUAL;
        uint256 from = current > block.timestamp ? current : block.timestamp;
        uint256 end = from + duration;
        return end >= PERPETUAL ? PERPETUAL : uint64(end);
    }

    function _permit(address token, Permit calldata permit) private {
        // A front-runner may have used the permit already; the allowance then decides.
        try IERC20Permit(token).permit(
            msg.sender, address(this), permit.value, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch {}
    }

    function _storeVersion(uint256 assetId, uint32 number, Cid calldata content, Cid calldata metadata) private {
        if (content.digest == bytes32(0) || metadata.digest == bytes32(0)) revert InvalidCid();
        _versions[assetId][number] = VersionRecord(
            content.digest, metadata.digest, content.codec, metadata.codec, uint64(block.timestamp)
        );
    }

    function _storeOffer(uint256 assetId, uint32 offerId, OfferInput calldata input, bool active) private {
        _requireAllowedToken(input.token);
        if (uint8(input.scope) > uint8(Scope.COMPUTE)) revert UnknownScope(uint8(input.scope));
        _offers[assetId][offerId] = Offer(input.token, input.price, input.duration, input.scope, active);
        emit OfferSet(assetId, offerId, input.token, input.price, input.duration, input.scope, active);
    }

    function _existingOffer(uint256 assetId, uint256 offerId) private view returns (Offer storage) {
        _requireExists(assetId);
        if (offerId == 0 || offerId > _assets[assetId].offerCount) revert UnknownOffer(assetId, offerId);
        return _offers[assetId][offerId];
    }

    function _requireAssetOwner(uint256 assetId) private view {
        address owner = _ownerOf(assetId);
        if (owner == address(0)) revert UnknownAsset(assetId);
        if (!_isAuthorized(owner, msg.sender, assetId)) revert NotAssetOwner(assetId, msg.sender);
    }

    /// @dev The caller owns (or may manage) `datasetId`, a DATASET.
    function _requireDatasetOwner(uint256 datasetId) private view {
        _requireAssetOwner(datasetId);
        _requireDataset(datasetId);
    }

    function _requireDataset(uint256 datasetId) private view {
        _requireExists(datasetId);
        Kind kind = _assets[datasetId].kind;
        if (kind != Kind.DATASET) revert WrongAssetKind(datasetId, kind);
    }

    /// @dev An existing ALGORITHM or MODEL asset.
    function _runnable(uint256 algorithmId) private view returns (AssetRecord storage algorithm) {
        _requireExists(algorithmId);
        algorithm = _assets[algorithmId];
        if (algorithm.kind == Kind.DATASET) revert WrongAssetKind(algorithmId, Kind.DATASET);
    }

    function _requireExists(uint256 assetId) internal view override {
        if (_ownerOf(assetId) == address(0)) revert UnknownAsset(assetId);
    }

    function _checkCuratorShare(uint16 shareBps) private pure {
        if (shareBps > MAX_CURATOR_SHARE_BPS) revert CuratorShareTooHigh(shareBps, MAX_CURATOR_SHARE_BPS);
    }

    /// @dev The curators' share in force now: a scheduled cut once it is due, else the current one.
    function _curatorShare(AssetRecord storage asset) private view returns (uint16) {
        uint64 effectiveAt = asset.shareEffectiveAt;
        return effectiveAt != 0 && block.timestamp >= effectiveAt ? asset.pendingShareBps : asset.curatorShareBps;
    }

    function _checkUnbondingDelay(uint32 delaySeconds) private pure {
        if (delaySeconds < MIN_UNBONDING_DELAY) revert UnbondingDelayTooShort(delaySeconds, MIN_UNBONDING_DELAY);
    }

    function _loadConfig() private view returns (Config memory) {
        return config;
    }

    function _later(uint64 a, uint64 b) private pure returns (uint64) {
        return a > b ? a : b;
    }
}
