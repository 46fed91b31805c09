// Typed reads of the AssetRegistry and the arguments of its buys. Each read takes any viem
// client that can `readContract` (a PublicClient; a WalletClient extended with publicActions).
import { getAddress, type Address, type Hex, type PublicClient } from "viem";
import { assetRegistryAbi } from "./abis/index.js";
import { permitArgument } from "./permit.js";

/** IAssetRegistry.Scope: what a licence allows. */
export const Scope = { download: 0, compute: 1 } as const;
export type ScopeName = keyof typeof Scope;
/** IAssetRegistry.AssetKind, by its number on chain. */
export const ASSET_KINDS = ["dataset", "model", "algorithm"] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

type Reader = Pick<PublicClient, "readContract">;

function scopeNumber(scope: ScopeName | 0 | 1): 0 | 1 {
  if (typeof scope === "number") return scope;
  const number = Scope[scope];
  if (number === undefined) throw new Error(`unknown licence scope ${String(scope)} (download or compute)`);
  return number;
}

/** Whether `account` holds a live licence of `scope` on `assetId` (token licences answer for
 *  the token's current holder). */
export function readHasLicense(
  client: Reader,
  registry: Address,
  assetId: bigint,
  account: Address,
  scope: ScopeName | 0 | 1,
): Promise<boolean> {
  return client.readContract({
    address: registry,
    abi: assetRegistryAbi,
    functionName: "hasLicense",
    args: [assetId, account, scopeNumber(scope)],
  });
}

export interface AssetInfo {
  id: bigint;
  kind: AssetKind;
  retired: boolean;
  curatorShareBps: number;
  versionCount: number;
  offerCount: number;
}

/** An asset's kind, state and counts (reverts UnknownAsset for an id nobody minted). */
export async function readAsset(client: Reader, registry: Address, assetId: bigint): Promise<AssetInfo> {
  const info = await client.readContract({
    address: registry,
    abi: assetRegistryAbi,
    functionName: "assetInfo",
    args: [assetId],
  });
  const kind = ASSET_KINDS[info.kind];
  if (kind === undefined) throw new Error(`asset ${assetId} has an unknown kind ${info.kind}`);
  return { id: assetId, ...info, kind };
}

export interface OfferTerms {
  offerId: bigint;
  token: Address;
  price: bigint;
  duration: bigint;
  scope: ScopeName;
  active: boolean;
}

/** One offer of an asset: what a buyer pays, in which token, for how long, for what. */
export async function readOffer(client: Reader, registry: Address, assetId: bigint, offerId: bigint): Promise<OfferTerms> {
  const offer = await client.readContract({
    address: registry,
    abi: assetRegistryAbi,
    functionName: "offer",
    args: [assetId, offerId],
  });
  const scope = offer.scope === 0 ? "download" : offer.scope === 1 ? "compute" : null;
  if (scope === null) throw new Error(`offer ${offerId} of asset ${assetId} has an unknown scope ${offer.scope}`);
  return { offerId, token: offer.token, price: offer.price, duration: offer.duration, scope, active: offer.active };
}

/** The terms a buyer agrees to: the registry reverts OfferTermsChanged if the offer moved. */
export type BuyTerms = Pick<OfferTerms, "offerId" | "token" | "price" | "duration" | "scope">;

/** `buy(assetId, offerId, licensee, token, maxPrice, duration, scope)`'s arguments. */
export function buyArguments(assetId: bigint, terms: BuyTerms, licensee: Address) {
  return [
    assetId,
    terms.offerId,
    getAddress(licensee),
    getAddress(terms.token),
    terms.price,
    terms.duration,
    scopeNumber(terms.scope),
  ] as const;
}

/** `buyWithPermit`'s arguments: `buy`'s plus the permit signed for `terms.price` until `deadline`. */
export function buyWithPermitArguments(
  assetId: bigint,
  terms: BuyTerms,
  licensee: Address,
  signature: Hex,
  deadline: bigint,
) {
  return [...buyArguments(assetId, terms, licensee), permitArgument(signature, terms.price, deadline)] as const;
}
