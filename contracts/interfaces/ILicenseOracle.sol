// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The one question other protocols ask the exchange
/// @notice `hasLicense` answers whether `account` may use asset `assetId` in `scope` right now.
/// Scope 0 is DOWNLOAD, scope 1 is COMPUTE. Detect support with ERC-165
/// (`type(ILicenseOracle).interfaceId`).
interface ILicenseOracle {
    /// @notice True while `account` holds an unexpired license (bought or granted) for `assetId`
    /// in `scope`. Licenses stay valid after the asset is retired.
    function hasLicense(uint256 assetId, address account, uint8 scope) external view returns (bool);

    /// @notice Unix time the license ends (`type(uint64).max` for perpetual, 0 for none or lapsed
    /// ones that never existed). May be in the past.
    function licenseExpiry(uint256 assetId, address account, uint8 scope) external view returns (uint64);
}
