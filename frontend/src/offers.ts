// Offer prices in words. The catalog knows a token only by address; once the chain has told us
// a token's symbol and decimals (`rememberToken`) every price in that token shows them.
import type { Offer } from "./api";
import { formatAmount, shortAddress } from "./format";

export interface KnownToken {
  address: string;
  symbol: string;
  decimals: number;
}

const known = new Map<string, KnownToken>();

export function rememberToken(token: KnownToken): void {
  known.set(token.address.toLowerCase(), token);
}

export function knownToken(address: string): KnownToken | undefined {
  return known.get(address.toLowerCase());
}

/** `"10 DDT"`, or `"10 of 0x1234…abcd"` (18 decimals assumed) for a token not read yet. */
export function offerPriceText(offer: Pick<Offer, "price" | "token">): string {
  const token = knownToken(offer.token);
  const price = BigInt(offer.price);
  if (price === 0n) return "free";
  return token
    ? `${formatAmount(price, token.decimals, 6)} ${token.symbol}`
    : `${formatAmount(price, 18, 6)} of token ${shortAddress(offer.token)}`;
}

/** The scope/duration line of an offer: "download license for 30 days". */
export function offerTermsText(offer: Pick<Offer, "scope" | "duration">, formatDuration: (s: number) => string): string {
  const term = offer.duration === 0 ? "perpetual" : `for ${formatDuration(offer.duration)}`;
  return `${offer.scope} license ${term}`;
}
