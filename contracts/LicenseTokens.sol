// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {IERC1155MetadataURI} from "@openzeppelin/contracts/token/ERC1155/extensions/IERC1155MetadataURI.sol";
import {ERC1155Utils} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Utils.sol";
import {IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {ILicenseOracle} from "./interfaces/ILicenseOracle.sol";
import {ILicenseTokens} from "./interfaces/ILicenseTokens.sol";

/// @dev The registry's side of a licence-token sale.
interface IChargeOffer {
    function chargeOffer(
        address payer,
        uint256 assetId,
        uint256 offerId,
        address token,
        uint256 maxPrice,
        uint64 duration,
        IAssetRegistry.Scope scope
    ) external;
}

/// @title LicenseTokens
/// @notice Licences as ERC-1155 tokens ("DDL"), opt-in per offer. One storage slot per (id,
/// holder) holds the licence's end; its balance is 1 while the slot is set. A transfer moves the
/// whole licence (value 1); a holder who receives a second token of the same id keeps the later
/// end. Resales here (`listForResale`, `buyResale`) pay the asset's royalty into the registry's
/// split like a sale; outside marketplaces read ERC-2981 (`royaltyInfo`, the owner, whole).
/// Holders may lend a transferable licence (`setUser`, ERC-4907's user per holding).
contract LicenseTokens is ILicenseTokens, IERC1155, IERC1155MetadataURI, IERC2981, IERC1155Errors {
    using SafeERC20 for IERC20;

    uint16 public constant MAX_ROYALTY_BPS = 1000;
    uint16 private constant BPS = 10_000;
    uint64 private constant PERPETUAL = type(uint64).max;

    /// @notice The AssetRegistry: asset ownership, offers, payment split.
    address public immutable registry;

    string public name = "DataDAO Licence";
    string public symbol = "DDL";

    mapping(uint256 assetId => mapping(uint256 offerId => TokenOffer)) private _tokenOffers;
    mapping(uint256 assetId => uint16) public royaltyBps;
    mapping(uint256 id => mapping(address holder => uint64 expiresAt)) private _expiry;
    mapping(address holder => mapping(address operator => bool)) private _operators;
    /// @dev A loan, seen from the holder (`other` = the user) and from the user (`other` = the
    /// holder), one slot each: `hasLicense` finds either without enumerating.
    struct Loan {
        address other;
        uint64 expires;
    }

    mapping(uint256 id => mapping(address holder => Loan)) private _lent;
    mapping(uint256 id => mapping(address user => Loan)) private _borrowed;

    struct Listing {
        address token;
        uint96 price;
    }

    mapping(uint256 id => mapping(address seller => Listing)) private _listings;
    mapping(uint256 assetId => string) private _assetURIs;
    mapping(uint256 assetId => string) private _licenseURIs;
    string private _contractURI;
    string private _assetsContractURI;

    constructor(address registry_) {
        if (registry_ == address(0)) revert ZeroAddress();
        registry = registry_;
    }

    // ------------------------------------------------------------------ sales

    /// @inheritdoc ILicenseTokens
    function buy(
        uint256 assetId,
        uint256 offerId,
        address licensee,
        address token,
        uint256 maxPrice,
        uint64 duration,
        IAssetRegistry.Scope scope
    ) external returns (uint256 id, uint64 expiresAt) {
        if (licensee == address(0)) revert ZeroAddress();
        TokenOffer memory terms = _tokenOffers[assetId][offerId];
        if (!terms.enabled) revert NotTokenOffer(assetId, offerId);
        id = licenseId(assetId, scope, terms.transferable);
        uint64 current = _expiry[id][licensee];
        expiresAt = _extend(current, duration);
        _expiry[id][licensee] = expiresAt;
        if (current == 0) emit TransferSingle(msg.sender, address(0), licensee, id, 1);
        emit LicenseTokenPurchased(id, uint32(offerId), licensee, msg.sender, expiresAt);
        // The registry checks the offer against the buyer's terms, splits and pulls the price.
        IChargeOffer(registry).chargeOffer(msg.sender, assetId, offerId, token, maxPrice, duration, scope);
        if (current == 0) ERC1155Utils.checkOnERC1155Received(msg.sender, address(0), licensee, id, 1, "");
    }

    // ------------------------------------------------------------------ the asset owner

    /// @inheritdoc ILicenseTokens
    function setTokenOffer(uint256 assetId, uint256 offerId, bool enabled, bool transferable) external {
        _requireAssetOwner(assetId);
        if (offerId == 0 || offerId > IAssetRegistry(registry).assetInfo(assetId).offerCount) {
            revert UnknownOffer(assetId, offerId);
        }
        _tokenOffers[assetId][offerId] = TokenOffer(enabled, transferable);
        emit TokenOfferSet(assetId, uint32(offerId), enabled, transferable);
    }

    /// @inheritdoc ILicenseTokens
    function setRoyalty(uint256 assetId, uint16 royaltyBps_) external {
        _requireAssetOwner(assetId);
        if (royaltyBps_ > MAX_ROYALTY_BPS) revert RoyaltyTooHigh(royaltyBps_, MAX_ROYALTY_BPS);
        royaltyBps[assetId] = royaltyBps_;
        emit RoyaltySet(assetId, royaltyBps_);
    }

    /// @inheritdoc ILicenseTokens
    function setMetadata(uint256 assetId, string calldata assetURI_, string calldata licenseURI_) external {
        _requireAssetOwner(assetId);
        _assetURIs[assetId] = assetURI_;
        _licenseURIs[assetId] = licenseURI_;
        emit MetadataSet(assetId, assetURI_, licenseURI_);
        emit URI(licenseURI_, licenseId(assetId, IAssetRegistry.Scope.DOWNLOAD, false));
    }

    /// @notice The registry's admin sets the collection documents (ERC-7572 `contractURI`) of
    /// the licence tokens and of the asset NFTs.
    function setContractURIs(string calldata licenses, string calldata assets) external {
        if (!IAccessControl(registry).hasRole(bytes32(0), msg.sender)) revert NotAdmin(msg.sender);
        _contractURI = licenses;
        _assetsContractURI = assets;
        emit ContractURIUpdated();
    }

    // ------------------------------------------------------------------ resale

    /// @inheritdoc ILicenseTokens
    function listForResale(uint256 id, address token, uint256 price) external {
        if (_expiry[id][msg.sender] == 0) revert NotHolder(id, msg.sender);
        if (id & 1 == 0) revert NotTransferable(id);
        if (price == 0) {
            delete _listings[id][msg.sender];
            token = address(0);
        } else {
            if (token == address(0)) revert ZeroAddress();
            _listings[id][msg.sender] = Listing(token, SafeCast.toUint96(price));
        }
        emit ResaleListed(id, msg.sender, token, price);
    }

    /// @inheritdoc ILicenseTokens
    function buyResale(uint256 id, address seller, address token, uint256 maxPrice) external {
        Listing memory listing = _listings[id][seller];
        uint256 price = listing.price;
        if (price == 0) revert NotListed(id, seller);
        if (seller == msg.sender) revert InvalidUser(msg.sender);
        if (listing.token != token || price > maxPrice) revert ResaleTermsChanged(id, seller);
        // Effects: the listing ends with the transfer (`_move` deletes it, ends a loan).
        _move(seller, msg.sender, id, 1);
        uint256 assetId = id >> 2;
        uint256 royalty = price * royaltyBps[assetId] / BPS;
        emit TransferSingle(msg.sender, seller, msg.sender, id, 1);
        emit ResaleBought(id, seller, msg.sender, token, price, royalty);
        // Interactions: the price passes through here into the registry's payout accounting.
        IERC20(token).safeTransferFrom(msg.sender, address(this), price);
        if (IERC20(token).allowance(address(this), registry) < price) {
            IERC20(token).forceApprove(registry, type(uint256).max);
        }
        if (royalty != 0) IAssetRegistry(registry).payRevenue(assetId, token, royalty);
        IAssetRegistry(registry).depositFor(seller, token, price - royalty);
        ERC1155Utils.checkOnERC1155Received(msg.sender, seller, msg.sender, id, 1, "");
    }

    /// @inheritdoc ILicenseTokens
    function resaleListing(uint256 id, address seller) external view returns (address token, uint256 price) {
        Listing memory listing = _listings[id][seller];
        return (listing.token, listing.price);
    }

    // ------------------------------------------------------------------ lending (ERC-4907)

    /// @inheritdoc ILicenseTokens
    function setUser(uint256 id, address user, uint64 expires) external {
        uint64 end = _expiry[id][msg.sender];
        if (end == 0) revert NotHolder(id, msg.sender);
        if (id & 1 == 0) revert NotTransferable(id);
        if (user == msg.sender) revert InvalidUser(user);
        if (user != address(0)) {
            if (expires <= block.timestamp || expires > end) revert LoanBeyondLicence(expires, end);
            Loan memory theirs = _borrowed[id][user];
            if (theirs.expires > block.timestamp && theirs.other != msg.sender) revert UserBusy(user, theirs.other);
        }
        _endLoan(id, msg.sender);
        if (user != address(0)) {
            _lent[id][msg.sender] = Loan(user, expires);
            _borrowed[id][user] = Loan(msg.sender, expires);
        } else {
            expires = 0;
        }
        emit UpdateUser(id, msg.sender, user, expires);
    }

    /// @inheritdoc ILicenseTokens
    function userOf(uint256 id, address holder) external view returns (address) {
        Loan memory loan = _lent[id][holder];
        return loan.expires > block.timestamp ? loan.other : address(0);
    }

    /// @inheritdoc ILicenseTokens
    function userExpires(uint256 id, address holder) external view returns (uint64) {
        return _lent[id][holder].expires;
    }

    // ------------------------------------------------------------------ licence oracle

    /// @inheritdoc ILicenseOracle
    function hasLicense(uint256 assetId, address account, uint8 scope) external view returns (bool) {
        return licenseExpiry(assetId, account, scope) > block.timestamp;
    }

    /// @inheritdoc ILicenseOracle
    /// @dev The latest end among the account's non-transferable token, its transferable token
    /// (unless lent out now) and a transferable token lent to it (0 = none).
    function licenseExpiry(uint256 assetId, address account, uint8 scope) public view returns (uint64) {
        if (scope > uint8(IAssetRegistry.Scope.COMPUTE)) revert UnknownScope(scope);
        uint256 id = (assetId << 2) | (uint256(scope) << 1);
        uint64 bound = _expiry[id][account];
        id |= 1;
        // A transferable licence counts for its holder unless lent out now, and for its user.
        uint64 transferable = _lent[id][account].expires > block.timestamp ? 0 : _expiry[id][account];
        Loan memory borrowed = _borrowed[id][account];
        if (borrowed.expires > block.timestamp && _lent[id][borrowed.other].other == account) {
            transferable = borrowed.expires > transferable ? borrowed.expires : transferable;
        }
        return bound > transferable ? bound : transferable;
    }

    /// @notice The end of `holder`'s licence token `id` (0 = holds none).
    function expiresAt(uint256 id, address holder) external view returns (uint64) {
        return _expiry[id][holder];
    }

    /// @inheritdoc ILicenseTokens
    function licenseId(uint256 assetId, IAssetRegistry.Scope scope, bool transferable) public pure returns (uint256) {
        return (assetId << 2) | (uint256(scope) << 1) | (transferable ? 1 : 0);
    }

    /// @inheritdoc ILicenseTokens
    function tokenOffer(uint256 assetId, uint256 offerId) external view returns (TokenOffer memory) {
        return _tokenOffers[assetId][offerId];
    }

    // ------------------------------------------------------------------ ERC-1155

    function balanceOf(address account, uint256 id) public view returns (uint256) {
        return _expiry[id][account] == 0 ? 0 : 1;
    }

    function balanceOfBatch(address[] calldata accounts, uint256[] calldata ids)
        external
        view
        returns (uint256[] memory balances)
    {
        if (accounts.length != ids.length) revert ERC1155InvalidArrayLength(ids.length, accounts.length);
        balances = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            balances[i] = balanceOf(accounts[i], ids[i]);
        }
    }

    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ERC1155InvalidOperator(address(0));
        _operators[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function isApprovedForAll(address account, address operator) external view returns (bool) {
        return _operators[account][operator];
    }

    function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external {
        _authorise(from);
        _move(from, to, id, value);
        emit TransferSingle(msg.sender, from, to, id, value);
        ERC1155Utils.checkOnERC1155Received(msg.sender, from, to, id, value, data);
    }

    function safeBatchTransferFrom(
        address from,
        address to,
        uint256[] calldata ids,
        uint256[] calldata values,
        bytes calldata data
    ) external {
        if (ids.length != values.length) revert ERC1155InvalidArrayLength(ids.length, values.length);
        _authorise(from);
        for (uint256 i; i < ids.length; ++i) {
            _move(from, to, ids[i], values[i]);
        }
        emit TransferBatch(msg.sender, from, to, ids, values);
        ERC1155Utils.checkOnERC1155BatchReceived(msg.sender, from, to, ids, values, data);
    }

    /// @notice The licence tokens' marketplace document of the id's asset (ERC-1155 metadata).
    function uri(uint256 id) external view returns (string memory) {
        return _licenseURIs[id >> 2];
    }

    /// @notice The asset NFT's document, as the registry's `tokenURI` returns it.
    function assetURI(uint256 assetId) external view returns (string memory) {
        return _assetURIs[assetId];
    }

    /// @notice The licence collection's document (ERC-7572).
    function contractURI() external view returns (string memory) {
        return _contractURI;
    }

    /// @inheritdoc ILicenseTokens
    function assetsContractURI() external view returns (string memory) {
        return _assetsContractURI;
    }

    /// @notice ERC-2981, for outside marketplaces: the asset's owner receives `royaltyBps` of a
    /// resale price, whole (a payment sent to an address cannot be tied to an asset or a sale).
    /// `buyResale` splits the same royalty like a sale instead.
    function royaltyInfo(uint256 id, uint256 salePrice) external view returns (address, uint256) {
        uint256 assetId = id >> 2;
        return (IERC721(registry).ownerOf(assetId), salePrice * royaltyBps[assetId] / BPS);
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155).interfaceId || interfaceId == type(IERC1155MetadataURI).interfaceId
            || interfaceId == type(IERC2981).interfaceId || interfaceId == type(IERC165).interfaceId
            || interfaceId == type(ILicenseOracle).interfaceId;
    }

    // ------------------------------------------------------------------ internals

    function _authorise(address from) private view {
        if (from != msg.sender && !_operators[from][msg.sender]) revert ERC1155MissingApprovalForAll(msg.sender, from);
    }

    /// @dev Move `holder`'s licence `id` (value 1; 0 moves nothing) to `to`, who keeps the later
    /// end if it already holds one.
    function _move(address from, address to, uint256 id, uint256 value) private {
        if (to == address(0)) revert ERC1155InvalidReceiver(address(0));
        if (value == 0) return;
        uint64 held = _expiry[id][from];
        if (held == 0 || value != 1) revert ERC1155InsufficientBalance(from, held == 0 ? 0 : 1, value, id);
        if (id & 1 == 0) revert NotTransferable(id);
        if (from == to) return;
        if (_endLoan(id, from)) emit UpdateUser(id, from, address(0), 0);
        if (_listings[id][from].price != 0) {
            delete _listings[id][from];
            emit ResaleListed(id, from, address(0), 0);
        }
        _expiry[id][from] = 0;
        uint64 theirs = _expiry[id][to];
        if (held > theirs) _expiry[id][to] = held;
    }

    /// @dev End `holder`'s loan of `id`, if any (its user's record too, if still this loan's).
    function _endLoan(uint256 id, address holder) private returns (bool ended) {
        address user = _lent[id][holder].other;
        if (user == address(0)) return false;
        delete _lent[id][holder];
        if (_borrowed[id][user].other == holder) delete _borrowed[id][user];
        return true;
    }

    function _requireAssetOwner(uint256 assetId) private view {
        if (IERC721(registry).ownerOf(assetId) != msg.sender) revert NotAssetOwner(assetId, msg.sender);
    }

    function _extend(uint64 current, uint64 duration) private view returns (uint64) {
        if (duration == 0 || current == PERPETUAL) return PERPETUAL;
        uint256 from = current > block.timestamp ? current : block.timestamp;
        uint256 end = from + duration;
        return end >= PERPETUAL ? PERPETUAL : uint64(end);
    }
}
