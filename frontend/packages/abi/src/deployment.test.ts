import { describe, expect, it } from "vitest";
import { abis, assetRegistryAbi } from "./abis/index.js";
import { contractAddress, deploymentFromGateway, deploymentFromManifest, DeploymentError, fetchDeployment } from "./deployment.js";

const REGISTRY = "0xb7f8bc63bbcad18155201308c8f3540b07f84f5e";
// a network deploy's manifest: contracts beside the `network` record, which has no address
const MANIFEST = {
  "31337": {
    AssetRegistry: { address: REGISTRY, block: 12, abi: [], standardJsonInput: {} },
    network: { name: "rehearsal", deployer: "0x0000000000000000000000000000000000000001" },
  },
};

describe("deploymentFromManifest", () => {
  it("reads the chain's contracts with checksummed addresses and skips the network record", () => {
    const deployment = deploymentFromManifest(MANIFEST, 31337);
    expect(deployment).toEqual({
      chainId: 31337,
      contracts: { AssetRegistry: { address: "0xB7f8BC63BbcaD18155201308C8f3540b07f84F5e", block: 12 } },
    });
    expect(contractAddress(deployment, "AssetRegistry")).toBe("0xB7f8BC63BbcaD18155201308C8f3540b07f84F5e");
  });

  it("names the chains it has when asked for another", () => {
    expect(() => deploymentFromManifest(MANIFEST, 1)).toThrow("the manifest has no deployment for chain 1 (it has: 31337)");
  });

  it("refuses an entry whose address is not an address", () => {
    expect(() => deploymentFromManifest({ "1": { AssetRegistry: { address: "0x12", block: 0 } } }, 1)).toThrow(DeploymentError);
  });

  it("says which contract is missing on which chain", () => {
    expect(() => contractAddress(deploymentFromManifest(MANIFEST, 31337), "ComputeMarket")).toThrow(
      "no ComputeMarket deployed on chain 31337",
    );
  });
});

describe("deploymentFromGateway / fetchDeployment", () => {
  const body = { chain_id: 1337, rpc_url: "http://127.0.0.1:8545", contracts: { AssetRegistry: { address: REGISTRY, block: 3 } } };

  it("reads GET /v1/deployment", async () => {
    const asked: string[] = [];
    const fake = (async (url: string) => {
      asked.push(url);
      return new Response(JSON.stringify(body), { status: 200 });
    }) as typeof fetch;
    const deployment = await fetchDeployment("http://gw.example/", fake);
    expect(asked).toEqual(["http://gw.example/v1/deployment"]);
    expect(deployment.rpcUrl).toBe("http://127.0.0.1:8545");
    expect(deployment.contracts.AssetRegistry?.block).toBe(3);
  });

  it("a gateway error is a DeploymentError with the status", async () => {
    const fake = (async () => new Response("{}", { status: 503 })) as unknown as typeof fetch;
    await expect(fetchDeployment("http://gw.example", fake)).rejects.toThrow("http://gw.example/v1/deployment answered 503");
  });

  it("refuses a body that is not a deployment", () => {
    expect(() => deploymentFromGateway({ chain_id: "1337" })).toThrow(DeploymentError);
  });
});

describe("abis", () => {
  it("publishes the protocol's contracts and none of the test helpers", () => {
    expect(abis.AssetRegistry).toBe(assetRegistryAbi);
    expect(Object.keys(abis)).toEqual(expect.arrayContaining(["AssetRegistry", "ComputeMarket", "LicenseTokens", "DataDAOFactory"]));
    expect(Object.keys(abis)).not.toContain("ReentrantToken");
  });
});
