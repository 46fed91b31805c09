// Where the contracts are: the dev deployments file and a network deploy's manifest share one
// shape ({"<chain id>": {"Name": {"address", "block", ...}}}); the gateway's GET /v1/deployment
// answers {chain_id, rpc_url, contracts} for the chain it serves.
import { getAddress, isAddress, type Address } from "viem";
import type { ContractName } from "./abis/index.js";

export interface DeployedContract {
  address: Address;
  /** the block it was deployed in: where a scan of its logs starts */
  block: number;
}

export interface Deployment {
  chainId: number;
  /** the RPC URL the gateway names (absent in a manifest read from a file) */
  rpcUrl?: string;
  contracts: Partial<Record<ContractName, DeployedContract>> & Record<string, DeployedContract>;
}

export class DeploymentError extends Error {
  override name = "DeploymentError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function contractsFrom(entries: Record<string, unknown>, where: string): Deployment["contracts"] {
  const contracts: Record<string, DeployedContract> = {};
  for (const [name, entry] of Object.entries(entries)) {
    // a manifest's `network` entry (the deploy's record) has no address: not a contract
    if (!isRecord(entry) || entry.address === undefined) continue;
    if (typeof entry.address !== "string" || !isAddress(entry.address)) {
      throw new DeploymentError(`${where}: ${name} has no valid address (${String(entry.address)})`);
    }
    contracts[name] = { address: getAddress(entry.address), block: Number(entry.block ?? 0) };
  }
  return contracts;
}

/** The contracts on `chainId` from a parsed deployments file or deployment manifest. */
export function deploymentFromManifest(manifest: unknown, chainId: number): Deployment {
  if (!isRecord(manifest)) throw new DeploymentError("the deployment manifest is not a JSON object");
  const entry = manifest[String(chainId)];
  if (!isRecord(entry)) {
    const chains = Object.keys(manifest).join(", ") || "none";
    throw new DeploymentError(`the manifest has no deployment for chain ${chainId} (it has: ${chains})`);
  }
  return { chainId, contracts: contractsFrom(entry, `chain ${chainId}`) };
}

/** A gateway's GET /v1/deployment answer. */
export function deploymentFromGateway(body: unknown): Deployment {
  if (!isRecord(body) || typeof body.chain_id !== "number" || !isRecord(body.contracts)) {
    throw new DeploymentError("not a gateway deployment (want {chain_id, rpc_url, contracts})");
  }
  const rpcUrl = typeof body.rpc_url === "string" ? body.rpc_url : undefined;
  return { chainId: body.chain_id, rpcUrl, contracts: contractsFrom(body.contracts, "the gateway's deployment") };
}

/** The deployment a gateway serves (`gatewayUrl` like http://127.0.0.1:8000). */
export async function fetchDeployment(gatewayUrl: string, fetchImpl: typeof fetch = fetch): Promise<Deployment> {
  const url = `${gatewayUrl.replace(/\/+$/, "")}/v1/deployment`;
  const response = await fetchImpl(url);
  if (!response.ok) throw new DeploymentError(`${url} answered ${response.status}`);
  return deploymentFromGateway(await response.json());
}

/** The address of `name` in `deployment`, or a DeploymentError naming the chain. */
export function contractAddress(deployment: Deployment, name: ContractName | (string & {})): Address {
  const deployed = deployment.contracts[name];
  if (!deployed) throw new DeploymentError(`no ${name} deployed on chain ${deployment.chainId}`);
  return deployed.address;
}
