// What an asset's owner does with the AssetRegistry from the browser: offers (add, change,
// pause, resume), license grants and revokes, retire. The forms' text becomes the registry's
// arguments here (pure, unit-tested); `ownerCall` names the function and arguments once, so the
// same call is either sent from the owner's wallet or, for a DataDAO's asset, shown as the
// target and calldata a member proposes.
import { encodeFunctionData, getAddress, isAddress, type Abi, type Address, type Hex } from "viem";
import type { Offer } from "./api";
import { parseAmount } from "./format";

/** A form value the registry would refuse or that means nothing: one line, said before any wallet opens. */
export class InvalidFormError extends Error {
  override name = "InvalidFormError";
}

export const SCOPE_NUMBER: Record<Offer["scope"], number> = { download: 0, compute: 1 };

const SECONDS_PER: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 };
const MAX_UINT64 = 2n ** 64n - 1n;
const MAX_UINT96 = 2n ** 96n - 1n;

/** `"30d"`, `"12h"`, `"90m"`, `"3600s"`, `"3600"`, `"1y"`, `"0"` or `"perpetual"` → seconds (0 = perpetual), as the CLI reads them. */
export function parseDuration(text: string): number {
  const cleaned = text.trim().toLowerCase();
  if (["0", "perpetual", "forever"].includes(cleaned)) return 0;
  const match = /^(\d+)\s*([smhdwy]?)$/.exec(cleaned);
  if (!match) throw new InvalidFormError(`Duration "${text.trim()}" is not understood: use e.g. 30d, 12h, 90m, 3600s, or 0 for perpetual.`);
  const seconds = BigInt(match[1]!) * BigInt(SECONDS_PER[match[2] || "s"]!);
  if (seconds > MAX_UINT64) throw new InvalidFormError(`Duration "${text.trim()}" is too long.`);
  return Number(seconds);
}

export function parseScope(text: string): number {
  const scope = SCOPE_NUMBER[text.trim().toLowerCase() as Offer["scope"]];
  if (scope === undefined) throw new InvalidFormError(`Scope "${text}" is not one of download, compute.`);
  return scope;
}

export function parseAccount(text: string, what: string): Address {
  const cleaned = text.trim();
  if (!isAddress(cleaned, { strict: false })) throw new InvalidFormError(`The ${what} must be an address (0x and 40 hex digits), not "${cleaned}".`);
  const address = getAddress(cleaned);
  if (/^0x0{40}$/.test(address)) throw new InvalidFormError(`The ${what} cannot be the zero address.`);
  return address;
}

export interface OfferInput {
  token: Address;
  price: bigint;
  duration: bigint;
  scope: number;
}

export interface OfferForm {
  token: string;
  price: string;
  duration: string;
  scope: string;
}

/** The registry's OfferInput from the form; `tokens` are the registry's payment tokens. */
export function offerInput(form: OfferForm, tokens: readonly { address: string; decimals: number; symbol: string }[]): OfferInput {
  const token = tokens.find((t) => t.address.toLowerCase() === form.token.trim().toLowerCase());
  if (!token) {
    const allowed = tokens.map((t) => t.symbol).join(", ") || "none read yet";
    throw new InvalidFormError(`The registry does not take token ${form.token.trim() || "(none)"} as payment (it takes ${allowed}).`);
  }
  let price: bigint;
  try {
    price = parseAmount(form.price, token.decimals);
  } catch (error) {
    throw new InvalidFormError(`Price: ${(error as Error).message}.`);
  }
  if (price > MAX_UINT96) throw new InvalidFormError("Price: too large for the registry (uint96).");
  return { token: getAddress(token.address), price, duration: BigInt(parseDuration(form.duration)), scope: parseScope(form.scope) };
}

/** A grant's expiry: a duration from `now` ("30d") or a date ("2027-01-31", UTC midnight); must be in the future. */
export function grantExpiry(text: string, now: bigint): bigint {
  const cleaned = text.trim();
  let expiresAt: bigint;
  if (/^\d{4}-\d{2}-\d{2}$/.test(cleaned)) {
    const ms = Date.parse(`${cleaned}T00:00:00Z`);
    if (Number.isNaN(ms)) throw new InvalidFormError(`"${cleaned}" is not a date.`);
    expiresAt = BigInt(Math.floor(ms / 1000));
  } else {
    const seconds = parseDuration(cleaned);
    if (seconds === 0) throw new InvalidFormError("A grant needs an end: give a duration (30d) or a date (2027-01-31).");
    expiresAt = now + BigInt(seconds);
  }
  if (expiresAt <= now) throw new InvalidFormError(`The grant would end on ${cleaned}, which has passed: pick a later date.`);
  if (expiresAt > MAX_UINT64) throw new InvalidFormError("The grant's end is too far away.");
  return expiresAt;
}

/** One registry call of the owner's: its function and arguments, and what it does in words. */
export interface OwnerCall {
  functionName: "setOffer" | "setOfferActive" | "grant" | "revokeGrant" | "retire";
  args: readonly unknown[];
  label: string;
}

export const ownerCalls = {
  /** offerId = offerCount + 1 adds an offer, an existing id changes it. */
  setOffer(assetId: bigint, offerId: number, input: OfferInput, adding = false): OwnerCall {
    const verb = adding ? `Add offer #${offerId}` : `Change offer #${offerId}`;
    return { functionName: "setOffer", args: [assetId, BigInt(offerId), input], label: `${verb} on asset #${assetId}` };
  },
  setOfferActive(assetId: bigint, offerId: number, active: boolean): OwnerCall {
    return { functionName: "setOfferActive", args: [assetId, BigInt(offerId), active], label: `${active ? "Resume" : "Pause"} offer #${offerId} of asset #${assetId}` };
  },
  grant(assetId: bigint, licensee: Address, scope: number, expiresAt: bigint): OwnerCall {
    return { functionName: "grant", args: [assetId, licensee, scope, expiresAt], label: `Grant a ${scope === 0 ? "download" : "compute"} license on asset #${assetId}` };
  },
  revokeGrant(assetId: bigint, licensee: Address, scope: number): OwnerCall {
    return { functionName: "revokeGrant", args: [assetId, licensee, scope], label: `Revoke the ${scope === 0 ? "download" : "compute"} grant on asset #${assetId}` };
  },
  retire(assetId: bigint): OwnerCall {
    return { functionName: "retire", args: [assetId], label: `Retire asset #${assetId}` };
  },
};

/** The next new offer's id: one past the highest the catalog knows. */
export function nextOfferId(offers: readonly Pick<Offer, "offer_id">[]): number {
  return offers.reduce((max, offer) => Math.max(max, offer.offer_id), 0) + 1;
}

/** What a DataDAO member proposes for `call`: the registry as target, the ABI-encoded call. */
export function proposalOf(call: OwnerCall, registry: Address, registryAbi: Abi): { target: Address; calldata: Hex; description: string } {
  const calldata = encodeFunctionData({ abi: registryAbi, functionName: call.functionName, args: call.args } as Parameters<typeof encodeFunctionData>[0]);
  return { target: registry, calldata, description: call.label };
}
