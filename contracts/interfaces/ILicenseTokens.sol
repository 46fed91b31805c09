// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ILicenseOracle} from "./ILicenseOracle.sol";
import {IAssetRegistry} from "./IAssetRegistry.sol";

/// @title Licences as ERC-1155 tokens
/// @notice Token id = assetId << 2 | scope << 1 | transferable. A holder's balance of an id is
/// 0 or 1 and carries the licence's end; `licenseExpiry` / `hasLicense` answer for whoever holds
/// the token now, and the registry's `hasLicense` asks here when an account has no
/// address-bound licence. Offers opt in per offer (`setTokenOffer`).
interface ILicenseTokens is ILicenseOracle {
    /// @notice How an offer issues licence tokens (nothing set = it does not).
    struct TokenOffer {
        bool enabled;
        bool transferable;
    }

    event TokenOfferSet(uint256 indexed assetId, uint32 indexed offerId, bool enabled, bool transferable);
    event RoyaltySet(uint256 indexed assetId, uint16 royaltyBps);
    /// @notice A licence token bought or extended; `expiresAt` is the holder's new end.
    event LicenseTokenPurchased(
        uint256 indexed id, uint32 offerId, address indexed holder, address indexed payer, uint64 expiresAt
    );
    /// @notice ERC-4907's event for an ERC-1155 holding: `holder` lent its licence `id` to
    /// `user` until `expires` (user 0 = the loan ended or was taken back).
    event UpdateUser(uint256 indexed id, address indexed holder, address indexed user, uint64 expires);
    /// @notice `seller` offers its licence `id` for `price` of `token` (an allowlisted payment
    /// token); price 0 = the listing was withdrawn or ended.
    event ResaleListed(uint256 indexed id, address indexed seller, address token, uint256 price);
    /// @notice A listed licence changed hands: `royalty` of `price` was split by the registry
    /// like a sale's revenue, the rest credited to the seller's payout balance.
    event ResaleBought(
        uint256 indexed id, address indexed seller, address indexed buyer, address token, uint256 price, uint256 royalty
    );
    event MetadataSet(uint256 indexed assetId, string assetURI, string licenseURI);
    event ContractURIUpdated();

    error NotTokenOffer(uint256 assetId, uint256 offerId);
    error NotTransferable(uint256 id);
    error UnknownOffer(uint256 assetId, uint256 offerId);
    error RoyaltyTooHigh(uint16 royaltyBps, uint16 maxBps);
    error NotAssetOwner(uint256 assetId, address caller);
    error NotAdmin(address caller);
    error ZeroAddress();
    error UnknownScope(uint8 scope);
    error NotHolder(uint256 id, address caller);
    error LoanBeyondLicence(uint64 expires, uint64 licenceEnd);
    error UserBusy(address user, address lender);
    error InvalidUser(address user);
    error NotListed(uint256 id, address seller);
    error ResaleTermsChanged(uint256 id, address seller);
    error ZeroPrice();

    /// @notice Buy a licence token under `offerId` of `assetId` for `licensee` (the caller
    /// pays, through the registry's split). A holder's second purchase extends its token.
    function buy(
        uint256 assetId,
        uint256 offerId,
        address licensee,
        address token,
        uint256 maxPrice,
        uint64 duration,
        IAssetRegistry.Scope scope
    ) external returns (uint256 id, uint64 expiresAt);

    /// @notice The asset owner opts an offer in (or out) and says if its licences may move.
    function setTokenOffer(uint256 assetId, uint256 offerId, bool enabled, bool transferable) external;

    /// @notice The asset owner's ERC-2981 royalty on resales of the asset's licence tokens.
    function setRoyalty(uint256 assetId, uint16 royaltyBps) external;

    /// @notice The asset owner's marketplace documents (ipfs:// URIs) for the asset NFT and its
    /// licence tokens.
    function setMetadata(uint256 assetId, string calldata assetURI, string calldata licenseURI) external;

    /// @notice The asset NFT's metadata URI (the registry's `tokenURI` returns it).
    function assetURI(uint256 assetId) external view returns (string memory);

    /// @notice The asset collection's document (the registry's `contractURI` returns it).
    function assetsContractURI() external view returns (string memory);

    /// @notice Lend the caller's licence `id` to `user` until `expires` (ERC-4907 for ERC-1155):
    /// until then `hasLicense` answers yes for the user and no for the holder. `expires` may not
    /// pass the licence's end; user 0 takes the licence back. Transferable ids only; a transfer
    /// of the token ends the loan. A user borrows one holding of an id at a time.
    function setUser(uint256 id, address user, uint64 expires) external;

    /// @notice Whom `holder` lent its licence `id` to (0 = nobody, or the loan ended).
    function userOf(uint256 id, address holder) external view returns (address);

    /// @notice When `holder`'s loan of `id` ends (0 = not lent).
    function userExpires(uint256 id, address holder) external view returns (uint64);

    /// @notice List the caller's licence `id` (transferable) for resale at `price` of `token`;
    /// price 0 withdraws the listing. A transfer of the token withdraws it too.
    function listForResale(uint256 id, address token, uint256 price) external;

    /// @notice Buy `seller`'s listed licence `id` on the terms the buyer saw (`token`, at most
    /// `maxPrice`): the caller pays the price; the royalty (`royaltyBps` of the asset) goes to
    /// the registry's `payRevenue`, split like any sale (protocol fee, curators, owner), the rest
    /// to the seller's payout balance (`depositFor`); the token moves to the caller.
    function buyResale(uint256 id, address seller, address token, uint256 maxPrice) external;

    /// @notice `seller`'s listing of `id` (price 0 = none).
    function resaleListing(uint256 id, address seller) external view returns (address token, uint256 price);

    function tokenOffer(uint256 assetId, uint256 offerId) external view returns (TokenOffer memory);

    function licenseId(uint256 assetId, IAssetRegistry.Scope scope, bool transferable) external pure returns (uint256);
}
