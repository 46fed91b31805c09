// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MinimalProxy} from "./MinimalProxy.sol";
import {IDataDAO} from "../interfaces/IDataDAO.sol";
import {IDataDAOShares} from "../interfaces/IDataDAOShares.sol";
import {IDataDAOFactory} from "../interfaces/IDataDAOFactory.sol";

/// @title DataDAOFactory
/// @notice One transaction makes a DAO: an EIP-1167 clone of DataDAO (the governor) and of
/// DataDAOShares, both initialised here so nobody can front-run the initialisation.
/// @dev Why clones: a DAO is a Governor plus an ERC20Votes token, together ~30 KB of code; deploying
/// that per DAO would cost several million gas, while two EIP-1167 proxies (45 bytes each,
/// delegating to the shared implementations) cost ~41k each, so most of `createDAO`'s gas is the
/// initialisation itself. The proxies are made by MinimalProxy (inline EIP-1167 creation code with
/// CREATE2) because OpenZeppelin 5.4's Clones.sol does not compile for shanghai. Being proxies,
/// the DAO and its token keep their names in storage and build their EIP-712 domains from them
/// (CloneEIP712). The implementations are deployed separately (the factory would not fit 24 KB
/// with their creation code inside) and are locked against initialisation.
contract DataDAOFactory is IDataDAOFactory {
    /// @inheritdoc IDataDAOFactory
    address public immutable daoImplementation;
    /// @inheritdoc IDataDAOFactory
    address public immutable sharesImplementation;
    /// @inheritdoc IDataDAOFactory
    address public immutable registry;

    error ZeroAddress();

    constructor(address registry_, address daoImplementation_, address sharesImplementation_) {
        if (registry_ == address(0) || daoImplementation_ == address(0) || sharesImplementation_ == address(0)) {
            revert ZeroAddress();
        }
        registry = registry_;
        daoImplementation = daoImplementation_;
        sharesImplementation = sharesImplementation_;
    }

    /// @inheritdoc IDataDAOFactory
    function createDAO(DAOConfig calldata config) external returns (address dao, address shares) {
        bytes32 salt = _salt(msg.sender, config.salt);
        dao = MinimalProxy.cloneDeterministic(daoImplementation, salt);
        shares = MinimalProxy.cloneDeterministic(sharesImplementation, salt);
        emit DAOCreated(dao, shares, msg.sender, config.name, config.symbol);
        IDataDAOShares(shares).initialize(dao, config);
        IDataDAO(dao).initialize(config.name, shares, registry, config.settings);
    }

    /// @inheritdoc IDataDAOFactory
    function predictAddresses(address creator, bytes32 salt) external view returns (address dao, address shares) {
        bytes32 fullSalt = _salt(creator, salt);
        dao = MinimalProxy.predictDeterministicAddress(daoImplementation, fullSalt, address(this));
        shares = MinimalProxy.predictDeterministicAddress(sharesImplementation, fullSalt, address(this));
    }

    function _salt(address creator, bytes32 salt) private pure returns (bytes32) {
        return keccak256(abi.encode(creator, salt));
    }
}
