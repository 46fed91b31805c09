import { describe, expect, it } from "vitest";
import type { Abi, AbiFunction } from "viem";
import { abisFromFiles, BUILT_ABIS, bindArguments, ChainContext, chainOf, withErrors } from "./contracts";
import { GatewayApi, type Deployment } from "./api";
import { NotDeployedError } from "./errors";

const DEPLOYMENT: Deployment = {
  chain_id: 1337,
  rpc_url: "http://127.0.0.1:8545",
  contracts: {
    AssetRegistry: { address: "0x5fbdb2315678afecb367f032d93f642f64180aa3", block: 3 },
    TestToken: { address: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", block: 2 },
  },
};

describe("ABIs from the build", () => {
  it("reads bare ABI arrays and artifacts, by file name", () => {
    const abis = abisFromFiles({
      "../../dapp/chain/abi/A.json": [{ type: "function", name: "f", inputs: [], outputs: [], stateMutability: "view" }],
      "../../dapp/chain/abi/B.json": { abi: [] },
      "../../dapp/chain/abi/C.json": { nothing: true },
    });
    expect(Object.keys(abis).sort()).toEqual(["A", "B"]);
  });

  it("includes the registry's ABI from dapp/chain/abi", () => {
    const names = (BUILT_ABIS.AssetRegistry ?? []).filter((i) => i.type === "function").map((i) => (i as AbiFunction).name);
    expect(names).toEqual(expect.arrayContaining(["buy", "buyWithPermit", "stake", "requestUnstake", "withdrawStake", "claim", "withdraw", "payoutBalance"]));
  });

  it("appends the ERC-20 errors once", () => {
    const abi = withErrors([{ type: "error", name: "ERC20InsufficientBalance", inputs: [] }] as Abi);
    expect(abi.filter((i) => i.type === "error" && i.name === "ERC20InsufficientBalance")).toHaveLength(1);
    expect(abi.some((i) => i.type === "error" && i.name === "ERC20InsufficientAllowance")).toBe(true);
  });
});

describe("deployment", () => {
  it("is parsed from GET /v1/deployment into a chain and contract handles", async () => {
    const api = new GatewayApi("http://gw", () => null, async (url) => {
      expect(url).toBe("http://gw/v1/deployment");
      return Response.json(DEPLOYMENT);
    });
    const deployment = await api.deployment();
    const chain = chainOf(deployment);
    expect(chain.id).toBe(1337);
    expect(chain.rpcUrls.default.http).toEqual(["http://127.0.0.1:8545"]);
    const context = new ChainContext(deployment, null);
    const registry = context.contract("AssetRegistry");
    expect(registry.address).toBe("0x5FbDB2315678afecb367f032d93F642f64180aa3"); // checksummed
    expect(context.deployedNames()).toEqual(["AssetRegistry", "TestToken"]);
    expect(context.has("DataDAO")).toBe(false);
    expect(() => context.contract("DataDAO")).toThrow(NotDeployedError);
    expect(() => context.contract("DataDAO")).toThrow("The DataDAO contract is not deployed on this network yet.");
    expect(() => context.walletClient()).toThrow(/Connect your wallet/);
  });

  it("a deployed contract without an ABI in this build is 'not deployed' too", () => {
    const context = new ChainContext({ ...DEPLOYMENT, contracts: { ...DEPLOYMENT.contracts, ComputeMarket: { address: DEPLOYMENT.contracts.TestToken!.address, block: 9 } } }, null, {});
    expect(context.has("ComputeMarket")).toBe(false);
    expect(() => context.contract("ComputeMarket")).toThrow(/interface \(ABI\) is not deployed/);
  });
});

describe("binding arguments by name", () => {
  const item = {
    type: "function",
    name: "createJob",
    stateMutability: "nonpayable",
    inputs: [
      { name: "datasetId", type: "uint256" },
      { name: "_provider", type: "address" },
      { name: "maxPrice", type: "uint256" },
    ],
    outputs: [],
  } as AbiFunction;

  it("matches names and aliases", () => {
    expect(bindArguments(item, { datasetId: 1n, provider: "0xp", maxPrice: 5n }, "job")).toEqual([1n, "0xp", 5n]);
  });

  it("says which argument it cannot fill", () => {
    expect(() => bindArguments(item, { datasetId: 1n }, "Compute")).toThrow(/argument 2 \(_provider\) of createJob/);
  });
});
