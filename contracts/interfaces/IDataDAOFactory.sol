// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDataDAO} from "./IDataDAO.sol";

/// @title DataDAOFactory
/// @notice Creates a DataDAO and its share token in one transaction, as minimal proxies (EIP-1167).
interface IDataDAOFactory {
    /// @notice Everything a new DAO needs.
    struct DAOConfig {
        string name; // DAO and share token name
        string symbol; // share token symbol
        address[] members; // initial members ...
        uint256[] shares; // ... and their shares (18 decimals)
        address[] revenueTokens; // tokens whose registry payouts are shared among members
        IDataDAO.Settings settings; // voting delay/period, quorum, threshold, execution delay
        bytes32 salt; // with the creator's address, fixes both addresses in advance
    }

    /// @notice A DAO `dao` with share token `shares` was created by `creator`.
    event DAOCreated(address indexed dao, address indexed shares, address indexed creator, string name, string symbol);

    /// @notice Creates a DAO: clones the governor and share token, mints the initial shares.
    /// @dev Reverts if `creator`+`salt` was used before (CREATE2 collision).
    /// @return dao the governor, which owns assets and receives payouts
    /// @return shares the share token (ERC20Votes)
    function createDAO(DAOConfig calldata config) external returns (address dao, address shares);

    /// @notice Addresses `createDAO` will use for `creator` and `salt`.
    function predictAddresses(address creator, bytes32 salt) external view returns (address dao, address shares);

    /// @notice The governor implementation every DAO delegates to.
    function daoImplementation() external view returns (address);

    /// @notice The share token implementation every share token delegates to.
    function sharesImplementation() external view returns (address);

    /// @notice The asset registry the DAOs are created for.
    function registry() external view returns (address);
}
