// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IAssetRegistry} from "../interfaces/IAssetRegistry.sol";
import {IDataDAO} from "../interfaces/IDataDAO.sol";
import {IDataDAOShares} from "../interfaces/IDataDAOShares.sol";
import {IDataDAOFactory} from "../interfaces/IDataDAOFactory.sol";
import {CloneEIP712} from "./CloneEIP712.sol";

/// @title DataDAOShares
/// @notice Voting shares of one DataDAO (ERC20Votes, timestamp clock, permit) that also share the
/// DAO's revenue by balance, Synthetix-style: `revenuePerShare`, each member's `perSharePaid` and
/// `owed`, settled before any change of balance. No loop runs over members; a transfer or mint
/// loops over the listed revenue tokens only (at most MAX_REVENUE_TOKENS).
/// @dev Deployed once as an implementation and used through minimal proxies (EIP-1167) made by
/// DataDAOFactory: name and symbol live in storage (ERC20's are constructor-only) and the EIP-712
/// domain of permits and delegation signatures is the clone's (its name, version "1", its address).
/// Holders delegate to themselves automatically when they first receive shares, so votes count
/// without an extra transaction.
/// Revenue sits here, in the share token, from the moment it is collected until members withdraw
/// it: what this contract holds of a token = `revenueHeld` (owed to members, plus dust below one
/// unit per member) + anything sent to it directly and not yet distributed.
contract DataDAOShares is IDataDAOShares, ERC20Permit, ERC20Votes, CloneEIP712, Initializable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    uint256 private constant PRECISION = 1e18;
    /// @notice Upper bound on listed revenue tokens: every share transfer settles each of them.
    uint256 public constant MAX_REVENUE_TOKENS = 5;

    struct Accumulator {
        uint256 perShare; // revenue per share, scaled by PRECISION
        uint256 held; // units held for members: distributed and not yet withdrawn
        uint256 carry; // remainder of the last division, scaled by PRECISION, carried into the next
        bool listed; // pulled and shared now
        bool known; // in `_revenueTokens` (listed now or delisted): settled on every transfer
    }

    /// @inheritdoc IDataDAOShares
    address public dao;
    string private _shareName;
    string private _shareSymbol;
    address[] private _revenueTokens;
    mapping(address token => Accumulator) private _accumulators;
    mapping(address token => mapping(address member => uint256)) private _perSharePaid;
    mapping(address token => mapping(address member => uint256)) private _owed;

    modifier onlyDAO() {
        if (msg.sender != dao) revert NotDAO(msg.sender);
        _;
    }

    constructor() ERC20("", "") ERC20Permit("DataDAO Shares") {
        _disableInitializers();
    }

    /// @inheritdoc IDataDAOShares
    function initialize(address dao_, IDataDAOFactory.DAOConfig calldata config) external initializer {
        if (dao_ == address(0)) revert ZeroAddress();
        uint256 count = config.members.length;
        if (count != config.shares.length) revert LengthMismatch(count, config.shares.length);
        _shareName = config.name;
        _shareSymbol = config.symbol;
        _setDomainName(config.name);
        dao = dao_;
        // Members first: no token is listed yet, so the mints settle nothing.
        for (uint256 i = 0; i < count; ++i) {
            _mint(config.members[i], config.shares[i]);
        }
        if (totalSupply() == 0) revert NoShares();
        for (uint256 i = 0; i < config.revenueTokens.length; ++i) {
            _addRevenueToken(config.revenueTokens[i]);
        }
    }

    /// @inheritdoc IDataDAOShares
    function mint(address to, uint256 amount) external onlyDAO nonReentrant {
        _mint(to, amount);
    }

    /// @inheritdoc IDataDAOShares
    function addRevenueToken(address token) external onlyDAO {
        _addRevenueToken(token);
    }

    /// @inheritdoc IDataDAOShares
    function removeRevenueToken(address token) external onlyDAO {
        Accumulator storage acc = _accumulators[token];
        if (!acc.listed) revert NotRevenueToken(token);
        acc.listed = false;
        emit RevenueTokenRemoved(token);
    }

    /// @inheritdoc IDataDAOShares
    function isRevenueToken(address token) external view returns (bool) {
        return _accumulators[token].listed;
    }

    /// @inheritdoc IDataDAOShares
    function distribute(address token) external nonReentrant returns (uint256 amount) {
        if (!_accumulators[token].listed) revert NotRevenueToken(token);
        return _pull(token);
    }

    /// @inheritdoc IDataDAOShares
    function withdraw(address token) external nonReentrant returns (uint256 amount) {
        Accumulator storage acc = _accumulators[token];
        if (!acc.known) revert NotRevenueToken(token);
        if (acc.listed) _pull(token);
        _settle(token, acc.perShare, msg.sender);
        amount = _owed[token][msg.sender];
        if (amount != 0) {
            _owed[token][msg.sender] = 0;
            acc.held -= amount;
            emit RevenueWithdrawn(msg.sender, token, amount);
            IERC20(token).safeTransfer(msg.sender, amount);
        }
    }

    /// @notice Moves shares; pending revenue is pulled in and both sides are settled first.
    function transfer(address to, uint256 value) public override nonReentrant returns (bool) {
        return super.transfer(to, value);
    }

    /// @notice Moves shares on behalf of `from`; pending revenue is pulled in and both sides settled first.
    function transferFrom(address from, address to, uint256 value) public override nonReentrant returns (bool) {
        return super.transferFrom(from, to, value);
    }

    /// @inheritdoc IDataDAOShares
    function withdrawable(address token, address account) external view returns (uint256) {
        Accumulator storage acc = _accumulators[token];
        uint256 perShare = acc.perShare;
        uint256 supply = totalSupply();
        if (acc.listed && supply != 0) {
            uint256 incoming = IAssetRegistry(IDataDAO(dao).registry()).payoutBalance(dao, token)
                + IERC20(token).balanceOf(address(this)) - acc.held;
            perShare += (incoming * PRECISION + acc.carry) / supply;
        }
        return _owed[token][account] + (balanceOf(account) * (perShare - _perSharePaid[token][account])) / PRECISION;
    }

    /// @inheritdoc IDataDAOShares
    function revenuePerShare(address token) external view returns (uint256) {
        return _accumulators[token].perShare;
    }

    /// @inheritdoc IDataDAOShares
    function revenueHeld(address token) external view returns (uint256) {
        return _accumulators[token].held;
    }

    /// @inheritdoc IDataDAOShares
    function revenueTokens() external view returns (address[] memory) {
        return _revenueTokens;
    }

    /// @notice The share name chosen at creation.
    function name() public view override returns (string memory) {
        return _shareName;
    }

    /// @notice The share symbol chosen at creation.
    function symbol() public view override returns (string memory) {
        return _shareSymbol;
    }

    /// @notice ERC-6372 clock: block timestamps, so voting delay and period are in seconds.
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @notice ERC-6372 clock mode.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice EIP-2612 / delegation nonces (one counter for both).
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @notice EIP-2612 domain separator of this share token (its name and address).
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view override returns (bytes32) {
        return _cloneDomainSeparator();
    }

    /// @notice ERC-5267: the domain permits and delegation signatures are checked against.
    function eip712Domain()
        public
        view
        override(EIP712, CloneEIP712)
        returns (bytes1, string memory, string memory, uint256, address, bytes32, uint256[] memory)
    {
        return CloneEIP712.eip712Domain();
    }

    function _domainName() internal view override returns (string memory) {
        return _shareName;
    }

    function _hashTypedDataV4(bytes32 structHash) internal view override(EIP712, CloneEIP712) returns (bytes32) {
        return CloneEIP712._hashTypedDataV4(structHash);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        uint256 count = _revenueTokens.length;
        for (uint256 i = 0; i < count; ++i) {
            address token = _revenueTokens[i];
            Accumulator storage acc = _accumulators[token];
            // Revenue that reached the DAO before this change belongs to the holders before it.
            // A delisted token is settled at its last revenue-per-share and never called.
            if (acc.listed) _pull(token);
            uint256 perShare = acc.perShare;
            if (from != address(0)) _settle(token, perShare, from);
            if (to != address(0)) _settle(token, perShare, to);
        }
        super._update(from, to, value);
        if (to != address(0) && delegates(to) == address(0)) _delegate(to, to);
    }

    function _addRevenueToken(address token) private {
        if (token == address(0)) revert ZeroAddress();
        if (token.code.length == 0) revert NotAContract(token);
        Accumulator storage acc = _accumulators[token];
        if (acc.listed) revert RevenueTokenAlreadyListed(token);
        if (!acc.known) {
            if (_revenueTokens.length == MAX_REVENUE_TOKENS) revert TooManyRevenueTokens(MAX_REVENUE_TOKENS);
            acc.known = true;
            _revenueTokens.push(token);
        }
        acc.listed = true;
        emit RevenueTokenAdded(token);
        // Units here that members are not owed arrived before the listing: the DAO's, not shared.
        uint256 early = IERC20(token).balanceOf(address(this)) - acc.held;
        if (early != 0) {
            emit UnlistedRevenueReturned(token, early);
            IERC20(token).safeTransfer(dao, early);
        }
    }

    /// @dev Moves the DAO's registry payout here, then shares every unit not yet accounted for.
    function _pull(address token) private returns (uint256) {
        IDataDAO(dao).releaseRevenue(token);
        return _distribute(token);
    }

    function _distribute(address token) private returns (uint256 amount) {
        Accumulator storage acc = _accumulators[token];
        uint256 supply = totalSupply();
        if (supply == 0) return 0;
        amount = IERC20(token).balanceOf(address(this)) - acc.held;
        if (amount == 0) return 0;
        uint256 scaled = amount * PRECISION + acc.carry;
        acc.perShare += scaled / supply;
        acc.carry = scaled % supply;
        acc.held += amount;
        emit RevenueDistributed(token, amount, acc.perShare);
    }

    function _settle(address token, uint256 perShare, address account) private {
        uint256 paid = _perSharePaid[token][account];
        if (paid == perShare) return;
        _owed[token][account] += (balanceOf(account) * (perShare - paid)) / PRECISION;
        _perSharePaid[token][account] = perShare;
    }
}
