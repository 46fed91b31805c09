// The docs/CLIENT.md example (type-checked with the package): find the contracts through a
// gateway, read an asset and an offer, buy a licence with a permit in one transaction.
import { createPublicClient, createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  assetRegistryAbi,
  buyWithPermitArguments,
  contractAddress,
  fetchDeployment,
  permitAbi,
  permitTypedData,
  readAsset,
  readHasLicense,
  readOffer,
} from "../src/index.js";

export async function buyLicence(gatewayUrl: string, key: Hex, assetId: bigint, offerId: bigint): Promise<boolean> {
  const deployment = await fetchDeployment(gatewayUrl);
  const registry = contractAddress(deployment, "AssetRegistry");
  const client = createPublicClient({ transport: http(deployment.rpcUrl) });
  const asset = await readAsset(client, registry, assetId); // { kind: "dataset", offerCount: 2, ... }
  const terms = await readOffer(client, registry, assetId, offerId); // { price, token, duration, scope, ... }
  if (asset.retired || !terms.active) throw new Error(`asset ${assetId} offer ${offerId} is not for sale`);

  const buyer = privateKeyToAccount(key);
  const wallet = createWalletClient({ account: buyer, transport: http(deployment.rpcUrl) });
  const token = { address: terms.token, abi: permitAbi } as const;
  const nonce = await client.readContract({ ...token, functionName: "nonces", args: [buyer.address] });
  const [, name, version, chainId] = await client.readContract({ ...token, functionName: "eip712Domain" });
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 1200);
  const signature = await wallet.signTypedData(
    permitTypedData(
      { name, version, chainId: Number(chainId), verifyingContract: terms.token },
      { owner: buyer.address, spender: registry, value: terms.price, nonce, deadline },
    ),
  );
  const { request } = await client.simulateContract({
    address: registry,
    abi: assetRegistryAbi,
    functionName: "buyWithPermit",
    args: buyWithPermitArguments(assetId, terms, buyer.address, signature, deadline),
    account: buyer,
  });
  await client.waitForTransactionReceipt({ hash: await wallet.writeContract(request) });
  return readHasLicense(client, registry, assetId, buyer.address, terms.scope);
}
