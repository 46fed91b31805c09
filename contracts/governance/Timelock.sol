// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @dev Brownie builds only files that define a contract: this empty abstract one puts
/// OpenZeppelin's TimelockController (unchanged) in the build, so scripts/deploy_network.py
/// deploys it and hands it the admin and arbiter roles (docs/DEPLOY.md).
abstract contract TimelockBuild is TimelockController {}
