// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {ILicenseOracle} from "../interfaces/ILicenseOracle.sol";

/// @notice "Another protocol" that knows the exchange only through ILicenseOracle: it runs an
/// analysis on an asset for whoever holds a COMPUTE license on it right now.
contract LicenseGatedVault {
    uint8 public constant COMPUTE = 1;

    ILicenseOracle public immutable oracle;
    mapping(uint256 assetId => uint256) public runs;

    event AnalysisRun(uint256 indexed assetId, address indexed account, uint256 run);

    error NotLicenseOracle(address oracle);
    error NotLicensed(uint256 assetId, address account);

    constructor(ILicenseOracle oracle_) {
        if (!_isLicenseOracle(address(oracle_))) revert NotLicenseOracle(address(oracle_));
        oracle = oracle_;
    }

    /// @notice Run the analysis on `assetId`; needs a COMPUTE license held by the caller.
    function runAnalysis(uint256 assetId) external returns (uint256 run) {
        if (!oracle.hasLicense(assetId, msg.sender, COMPUTE)) revert NotLicensed(assetId, msg.sender);
        run = ++runs[assetId];
        emit AnalysisRun(assetId, msg.sender, run);
    }

    function _isLicenseOracle(address candidate) private view returns (bool) {
        if (candidate.code.length == 0) return false;
        try IERC165(candidate).supportsInterface(type(ILicenseOracle).interfaceId) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }
}
