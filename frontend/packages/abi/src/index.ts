// @datadao/abi: the DataDAO Exchange contracts' ABIs (`as const`) and typed viem helpers.
export * from "./abis/index.js";
export * from "./deployment.js";
export * from "./errors.js";
export * from "./permit.js";
export * from "./registry.js";
