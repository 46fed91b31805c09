import { describe, expect, it } from "vitest";
import { erc20Abi, type Abi, type AbiFunction } from "viem";
import { abisFromFiles, BUILT_ABIS, bindArguments, ChainContext, chainOf, GOVERNOR_ABI, transactionTime, withErrors } from "./contracts";
import { GatewayApi, type Deployment } from "./api";
import { explainError, NotDeployedError } from "./errors";

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

describe("writing to a contract known by address (a DAO)", () => {
  const DAO = "0x7764C99028E83E3b2Ee6Ad94B20baDDE1B4FE17f" as const;
  const VOTER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9" as const;
  const CAST_VOTE = [
    { type: "function", name: "castVote", stateMutability: "nonpayable", inputs: [{ name: "proposalId", type: "uint256" }, { name: "support", type: "uint8" }], outputs: [{ name: "", type: "uint256" }] },
    { type: "error", name: "GovernorAlreadyCastVote", inputs: [{ name: "voter", type: "address" }] },
  ] as const satisfies Abi;

  /** An EIP-1193 wallet on the deployment's chain that records what it is asked. */
  const walletWith = (answer: (method: string, params: unknown[]) => unknown) => {
    const seen: { method: string; params: unknown[] }[] = [];
    const provider = {
      async request({ method, params = [] }: { method: string; params?: unknown[] }) {
        seen.push({ method, params });
        if (method === "eth_chainId") return "0x539";
        return answer(method, params);
      },
    };
    const wallet = { account: VOTER, chainId: 1337, provider, isOn: (id: number) => id === 1337 };
    return { seen, context: new ChainContext(DEPLOYMENT, wallet) };
  };

  it("sends with the estimate plus a margin, never the wallet's default gas", async () => {
    const { seen, context } = walletWith((method) => {
      if (method === "eth_call") return `0x${"00".repeat(31)}01`;
      if (method === "eth_estimateGas") return "0x1d4c0"; // 120,000: above ganache's default 90,000
      if (method === "eth_sendTransaction") return `0x${"cd".repeat(32)}`;
      throw new Error(`unexpected ${method}`);
    });
    const hash = await context.writeCall({ address: DAO, abi: CAST_VOTE, functionName: "castVote", args: [7n, 1] });
    expect(hash).toBe(`0x${"cd".repeat(32)}`);
    const sent = seen.find((call) => call.method === "eth_sendTransaction")!.params[0] as Record<string, string>;
    expect(BigInt(sent.gas!)).toBe(120_000n + 30_000n + 20_000n);
    expect(sent).toMatchObject({ from: VOTER, to: DAO });
  });

  it("explains a revert before the wallet opens", async () => {
    const { seen, context } = walletWith((method) => {
      if (method === "eth_call") {
        // GovernorAlreadyCastVote(VOTER)
        throw Object.assign(new Error("execution reverted"), { code: 3, data: `0x71c6af49${VOTER.slice(2).toLowerCase().padStart(64, "0")}` });
      }
      throw new Error(`unexpected ${method}`);
    });
    await expect(context.writeCall({ address: DAO, abi: CAST_VOTE, functionName: "castVote", args: [7n, 1] }))
      .rejects.toThrow(/GovernorAlreadyCastVote/);
    expect(seen.some((call) => call.method === "eth_sendTransaction")).toBe(false);
  });

  it("decodes ganache's revert (code -32000, raw data) into the custom error", async () => {
    const data = `0x71c6af49${VOTER.slice(2).toLowerCase().padStart(64, "0")}`;
    const { seen, context } = walletWith((method) => {
      if (method === "eth_call") {
        throw Object.assign(new Error("VM Exception while processing transaction: revert"), { code: -32000, data });
      }
      throw new Error(`unexpected ${method}`);
    });
    const failure = await context.writeCall({ address: DAO, abi: CAST_VOTE, functionName: "castVote", args: [7n, 1] }).catch((e) => e);
    expect(explainError(failure).message).toBe("The contract refused the transaction: governor already cast vote.");
    expect(seen.some((call) => call.method === "eth_sendTransaction")).toBe(false);
  });
});

describe("call shapes the compiler checks (tsc --noEmit fails if one of these stops being an error)", () => {
  it("a typed ABI's function name, arguments and value; a build ABI's anything", () => {
    const calls = (chain: ChainContext, buildAbi: Abi) => {
      const dao = { address: "0x7764C99028E83E3b2Ee6Ad94B20baDDE1B4FE17f", abi: GOVERNOR_ABI } as const;
      // @ts-expect-error support is a uint8, not a word
      void chain.writeCall({ ...dao, functionName: "castVote", args: [7n, "for"] });
      // @ts-expect-error no such function
      void chain.writeCall({ ...dao, functionName: "castVotes", args: [7n, 1] });
      // @ts-expect-error a view function is not sent
      void chain.writeCall({ ...dao, functionName: "state", args: [7n] });
      // @ts-expect-error castVote is not payable
      void chain.writeCall({ ...dao, functionName: "castVote", args: [7n, 1], value: 1n });
      // @ts-expect-error approve takes a spender and an amount
      void chain.writeCall({ address: dao.address, abi: erc20Abi, functionName: "approve" });
      void chain.writeCall({ ...dao, functionName: "execute", args: [[], [], [], "0x00"], value: 1n });
      void chain.writeCall({ address: dao.address, abi: buildAbi, functionName: "buy", args: [1n, 0n], value: 0n });
    };
    expect(calls).toBeTypeOf("function"); // never called: the checks above are at compile time
  });
});

describe("the time a transaction will see", () => {
  it("is the chain's when it runs ahead of the browser (a dev chain moved forward)", () => {
    expect(transactionTime(1_800_259_200n, 1_800_000_000_500)).toBe(1_800_259_200n);
  });

  it("is the browser's when the latest block is old (an idle dev chain mines on demand)", () => {
    expect(transactionTime(1_799_990_000n, 1_800_000_000_900)).toBe(1_800_000_000n);
  });
});
