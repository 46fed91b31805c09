// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governor} from "./oz/Governor.sol";
import {GovernorSettings} from "./oz/GovernorSettings.sol";
import {GovernorCountingSimple} from "./oz/GovernorCountingSimple.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {IERC5805} from "@openzeppelin/contracts/interfaces/IERC5805.sol";
import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IDataDAO} from "../interfaces/IDataDAO.sol";
import {IDataDAOShares} from "../interfaces/IDataDAOShares.sol";
import {IAssetRegistry} from "../interfaces/IAssetRegistry.sol";
import {CloneEIP712} from "./CloneEIP712.sol";

/// @title DataDAO
/// @notice A collective that owns registry assets: OpenZeppelin Governor with simple counting, votes
/// and quorum fraction from its DataDAOShares (ERC20Votes, timestamp clock) and an optional delay
/// between queue and execute. The governor is its own executor, so the asset NFTs, the registry
/// payouts and every proposal's calls share one address.
/// @dev Deployed once and used through minimal proxies. OpenZeppelin's GovernorVotes and
/// GovernorVotesQuorumFraction keep the token in an immutable, which a clone cannot set, so their
/// few functions (`token`, `clock`, `CLOCK_MODE`, `_getVotes`, `quorum`, the numerator history) are
/// re-stated here with the same signatures and events. The delay mirrors GovernorTimelockCompound's
/// public surface (`queue`, `proposalEta`, `proposalNeedsQueuing`) without a separate timelock: a
/// TimelockController would own the assets and receive the payouts instead of the DAO, and cannot be
/// cloned. Revenue: the registry credits sales of the DAO's assets to the DAO's payout balance;
/// `collect` (anyone) or any mint or share transfer moves the balance of each listed revenue token to
/// the share token, which shares it by shares at that moment and lets each member withdraw their part.
/// A proposal can still make any registry call, including `withdrawTo` elsewhere: the members'
/// revenue is theirs to vote on. Revenue in a token that is not listed (yet) is the DAO's own: listing
/// moves it to the DAO instead of sharing it among whoever holds shares then. A listed revenue
/// token is pulled on every share transfer; one that starts to revert is delisted by a proposal
/// (`removeRevenueToken`), which never calls it.
/// The EIP-712 domain of vote signatures (`castVoteBySig`) is the clone's: its own name (set
/// by `initialize`, as `name()` returns it), version "1", its own address (see CloneEIP712).
contract DataDAO is IDataDAO, Governor, GovernorSettings, GovernorCountingSimple, CloneEIP712, Initializable {
    using Checkpoints for Checkpoints.Trace208;

    IDataDAOShares private _shares;
    /// @inheritdoc IDataDAO
    uint32 public executionDelay;
    address private _registry;
    string private _daoName;
    Checkpoints.Trace208 private _quorumNumeratorHistory;

    modifier onlyShares() {
        if (msg.sender != address(_shares)) revert NotShares(msg.sender);
        _;
    }

    constructor() Governor("DataDAO") GovernorSettings(1, 1, 0) {
        _disableInitializers();
    }

    /// @inheritdoc IDataDAO
    function initialize(string calldata name_, address shares_, address registry_, Settings calldata settings)
        external
        initializer
    {
        if (shares_ == address(0) || registry_ == address(0)) revert ZeroAddress();
        _daoName = name_;
        _setDomainName(name_);
        _shares = IDataDAOShares(shares_);
        _registry = registry_;
        _setVotingDelay(settings.votingDelay);
        _setVotingPeriod(settings.votingPeriod);
        _setProposalThreshold(settings.proposalThreshold);
        _updateQuorumNumerator(settings.quorumNumerator);
        _setExecutionDelay(settings.executionDelay);
    }

    // ---------------------------------------------------------------- governance actions

    /// @inheritdoc IDataDAO
    function admitContributor(address member, uint256 shares, bytes32 cidDigest, uint64 codec)
        external
        onlyGovernance
    {
        if (member == address(0)) revert ZeroAddress();
        if (shares == 0) revert ZeroAmount();
        if (cidDigest == bytes32(0)) revert InvalidCid();
        emit ContributorAdmitted(member, shares, IAssetRegistry.Cid(cidDigest, codec));
        _shares.mint(member, shares);
    }

    /// @inheritdoc IDataDAO
    function setExecutionDelay(uint32 newDelay) external onlyGovernance {
        _setExecutionDelay(newDelay);
    }

    /// @inheritdoc IDataDAO
    function updateQuorumNumerator(uint256 newQuorumNumerator) external onlyGovernance {
        _updateQuorumNumerator(newQuorumNumerator);
    }

    /// @inheritdoc IDataDAO
    function addRevenueToken(address revenueToken) external onlyGovernance {
        IAssetRegistry assetRegistry = IAssetRegistry(_registry);
        if (assetRegistry.payoutBalance(address(this), revenueToken) != 0) {
            // The registry (fixed at initialisation, nonReentrant) pays the DAO itself.
            uint256 kept = assetRegistry.withdrawTo(revenueToken, address(this));
            emit UnlistedRevenueKept(revenueToken, kept);
        }
        _shares.addRevenueToken(revenueToken);
    }

    /// @inheritdoc IDataDAO
    function removeRevenueToken(address revenueToken) external onlyGovernance {
        _shares.removeRevenueToken(revenueToken);
    }

    // ---------------------------------------------------------------- revenue

    /// @inheritdoc IDataDAO
    function collect(address revenueToken) external returns (uint256 amount) {
        return _shares.distribute(revenueToken);
    }

    /// @inheritdoc IDataDAO
    function releaseRevenue(address revenueToken) external onlyShares returns (uint256 amount) {
        IAssetRegistry assetRegistry = IAssetRegistry(_registry);
        if (assetRegistry.payoutBalance(address(this), revenueToken) == 0) return 0;
        amount = assetRegistry.withdrawTo(revenueToken, address(_shares));
        emit RevenueReleased(revenueToken, amount);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IDataDAO
    function token() public view returns (address) {
        return address(_shares);
    }

    /// @inheritdoc IDataDAO
    function registry() external view returns (address) {
        return _registry;
    }

    /// @notice The DAO's name chosen at creation.
    function name() public view override returns (string memory) {
        return _daoName;
    }

    /// @notice ERC-5267: the domain vote signatures are checked against (this DAO's name and address).
    function eip712Domain()
        public
        view
        override(EIP712, CloneEIP712)
        returns (bytes1, string memory, string memory, uint256, address, bytes32, uint256[] memory)
    {
        return CloneEIP712.eip712Domain();
    }

    /// @notice ERC-6372 clock of the share token (block timestamps).
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @notice ERC-6372 clock mode.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @inheritdoc IDataDAO
    function quorumNumerator() public view returns (uint256) {
        return _quorumNumeratorHistory.latest();
    }

    /// @inheritdoc IDataDAO
    function quorumNumerator(uint256 timepoint) public view returns (uint256) {
        (, uint48 key, uint208 value) = _quorumNumeratorHistory.latestCheckpoint();
        return key <= timepoint ? value : _quorumNumeratorHistory.upperLookupRecent(SafeCast.toUint48(timepoint));
    }

    /// @inheritdoc IDataDAO
    function quorumDenominator() public pure returns (uint256) {
        return 100;
    }

    /// @notice Votes needed at `timepoint`: the quorum fraction of the share supply then.
    function quorum(uint256 timepoint) public view override returns (uint256) {
        return Math.mulDiv(IERC5805(token()).getPastTotalSupply(timepoint), quorumNumerator(timepoint), 100);
    }

    /// @notice Seconds from proposal to vote start.
    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    /// @notice Seconds the vote is open.
    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    /// @notice Votes needed to make a proposal.
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    /// @notice True while the DAO has an execution delay: proposals are queued before they execute.
    function proposalNeedsQueuing(uint256) public view override returns (bool) {
        return executionDelay != 0;
    }

    /// @notice ERC-165: IGovernor, IERC1155Receiver, IERC721Receiver, IDataDAO.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IERC721Receiver).interfaceId || interfaceId == type(IDataDAO).interfaceId
            || super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internals

    function _domainName() internal view override returns (string memory) {
        return _daoName;
    }

    function _hashTypedDataV4(bytes32 structHash) internal view override(EIP712, CloneEIP712) returns (bytes32) {
        return CloneEIP712._hashTypedDataV4(structHash);
    }

    function _getVotes(address account, uint256 timepoint, bytes memory)
        internal
        view
        override
        returns (uint256)
    {
        return IERC5805(token()).getPastVotes(account, timepoint);
    }

    function _queueOperations(uint256, address[] memory, uint256[] memory, bytes[] memory, bytes32)
        internal
        view
        override
        returns (uint48)
    {
        uint32 delay = executionDelay;
        if (delay == 0) return 0; // Governor.queue reverts with GovernorQueueNotImplemented
        return Time.timestamp() + delay;
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override {
        uint256 eta = proposalEta(proposalId);
        if (eta == 0) {
            if (executionDelay != 0) revert ProposalNotQueued(proposalId);
        } else if (block.timestamp < eta) {
            revert ProposalNotReady(proposalId, eta);
        }
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _setExecutionDelay(uint32 newDelay) private {
        emit ExecutionDelaySet(executionDelay, newDelay);
        executionDelay = newDelay;
    }

    function _updateQuorumNumerator(uint256 newQuorumNumerator) private {
        if (newQuorumNumerator > 100) revert InvalidQuorumFraction(newQuorumNumerator, 100);
        uint256 oldQuorumNumerator = quorumNumerator();
        _quorumNumeratorHistory.push(clock(), SafeCast.toUint208(newQuorumNumerator));
        emit QuorumNumeratorUpdated(oldQuorumNumerator, newQuorumNumerator);
    }
}
