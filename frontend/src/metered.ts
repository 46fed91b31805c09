// Paid model calls from the browser, as `datadao invoke` makes them (dapp/client/metered.py):
// each call pays the provider one price with the next EIP-712 voucher on a payment channel,
// signed in the wallet. The voucher's domain and type are dapp/market/vouchers.py's (checked
// against vectors Python computed: src/testdata/voucher-vectors.json).
//
// Nothing the gateway says about money is taken on its word. Before a voucher is signed: the
// gateway's terms (GET /v1/provider) must name our deployment's ComputeMarket on our chain and
// the provider the user picked, with the price and token the chain has for it; the price must
// be within the user's per-call maximum; the channel (read from the chain) must be this
// account's, to that provider, in that token, and its deposit must cover the amount. This
// browser keeps, per channel, the amount the gateway confirmed and the most it ever signed
// (localStorage): a gateway claiming a higher count than that is refused, so one call signs at
// most one on-chain price above what this browser signed before.
import { getAddress, hashTypedData, type Address, type Hex } from "viem";
import type { StorageLike } from "./siwe";

export const VOUCHER_DOMAIN_NAME = "DataDAO ComputeMarket";
export const VOUCHER_DOMAIN_VERSION = "1";
export const VOUCHER_HEADER = "X-DataDAO-Voucher";
export const ACCEPTED_HEADER = "X-DataDAO-Accepted-Cumulative";

export const VOUCHER_TYPES = {
  Voucher: [
    { name: "channelId", type: "uint256" },
    { name: "cumulativeAmount", type: "uint256" },
  ],
} as const;

export function voucherTypedData(chainId: number, market: string, channelId: bigint, cumulativeAmount: bigint) {
  return {
    domain: { name: VOUCHER_DOMAIN_NAME, version: VOUCHER_DOMAIN_VERSION, chainId, verifyingContract: getAddress(market) },
    types: VOUCHER_TYPES,
    primaryType: "Voucher" as const,
    message: { channelId, cumulativeAmount },
  };
}

export type VoucherTypedData = ReturnType<typeof voucherTypedData>;

/** What `ComputeMarket.voucherDigest(channelId, cumulativeAmount)` returns. */
export function voucherDigest(chainId: number, market: string, channelId: bigint, cumulativeAmount: bigint): Hex {
  return hashTypedData(voucherTypedData(chainId, market, channelId, cumulativeAmount));
}

/** `X-DataDAO-Voucher: <channelId>:<cumulativeAmount>:<0x signature>` (decimal amounts). */
export function voucherHeader(channelId: bigint, cumulativeAmount: bigint, signature: Hex): string {
  return `${channelId}:${cumulativeAmount}:${signature}`;
}

/** A payment the browser refuses to make, or a gateway's answer it does not believe: one line. */
export class PaymentRefused extends Error {
  override name = "PaymentRefused";
  constructor(message: string, readonly code: string, readonly hint?: string) {
    super(message);
  }
}

// --- what this browser signed ----------------------------------------------------------------
export interface ChannelRecord {
  /** what the gateway confirmed the channel has paid */
  accepted: bigint;
  /** the most this browser ever signed on the channel */
  signed: bigint;
}

const RECORD_PREFIX = "datadao.vouchers";

/** Per (chain, market, channel), in localStorage: amounts only ever go up. */
export class SignedVouchers {
  constructor(private readonly storage: StorageLike | null) {}

  static key(chainId: number, market: string, channelId: bigint): string {
    return `${RECORD_PREFIX}:${chainId}:${market.toLowerCase()}:${channelId}`;
  }

  get(key: string): ChannelRecord {
    try {
      const stored = JSON.parse(this.storage?.getItem(key) ?? "null") as { accepted?: string; signed?: string } | null;
      if (stored) return { accepted: BigInt(stored.accepted ?? "0"), signed: BigInt(stored.signed ?? "0") };
    } catch {
      // unreadable: as if nothing was signed (a gateway count above 0 is then refused)
    }
    return { accepted: 0n, signed: 0n };
  }

  update(key: string, change: { accepted?: bigint; signed?: bigint }): ChannelRecord {
    const old = this.get(key);
    const accepted = max(old.accepted, change.accepted ?? 0n);
    const record = { accepted, signed: max(old.signed, change.signed ?? 0n, accepted) };
    this.storage?.setItem(key, JSON.stringify({ accepted: record.accepted.toString(), signed: record.signed.toString() }));
    return record;
  }
}

function max(...values: bigint[]): bigint {
  return values.reduce((a, b) => (b > a ? b : a));
}

// --- the checks --------------------------------------------------------------------------------
/** `GET /v1/provider` of a provider's gateway. */
export interface GatewayTerms {
  address: string;
  market: string;
  chain_id: number;
  token: string;
  price: string;
  endpoint: string;
}

/** `ComputeMarket.getProvider` */
export interface ProviderOnChain {
  priceToken: Address;
  price: bigint;
  stake: bigint;
  endpoint: string;
}

/** `ComputeMarket.getChannel`, with its id */
export interface ChannelOnChain {
  id: bigint;
  buyer: Address;
  provider: Address;
  token: Address;
  deposit: bigint;
  expiry: bigint;
  redeemed: bigint;
}

const ZERO = "0x0000000000000000000000000000000000000000";
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The price per call, if the gateway's terms are the chain's for `provider` and the price is
 *  within `maxPrice`; PaymentRefused otherwise (nothing is signed). */
export function checkedPrice(
  terms: GatewayTerms,
  expected: { chainId: number; market: string; provider: string },
  onChain: ProviderOnChain,
  maxPrice: bigint,
): bigint {
  if (terms.chain_id !== expected.chainId || !same(terms.market, expected.market)) {
    throw new PaymentRefused(`This gateway sells on market ${terms.market} (chain ${terms.chain_id}), not on this exchange's ComputeMarket ${expected.market} (chain ${expected.chainId}): nothing signed.`, "gateway-terms-mismatch");
  }
  if (!same(terms.address, expected.provider)) {
    throw new PaymentRefused(`This gateway is provider ${terms.address}, not ${expected.provider} whom you picked: nothing signed.`, "gateway-terms-mismatch");
  }
  if (same(onChain.priceToken, ZERO)) {
    throw new PaymentRefused(`${expected.provider} is not a registered provider on the market: nothing signed.`, "gateway-terms-mismatch");
  }
  let gatewayPrice: bigint;
  try {
    gatewayPrice = BigInt(terms.price);
  } catch {
    throw new PaymentRefused(`This gateway names no usable price (${String(terms.price)}): nothing signed.`, "gateway-terms-mismatch");
  }
  if (gatewayPrice !== onChain.price || !same(terms.token, onChain.priceToken)) {
    throw new PaymentRefused(`This gateway asks ${terms.price} of ${terms.token} per call; the provider charges ${onChain.price} of ${onChain.priceToken} on chain: nothing signed.`, "gateway-terms-mismatch");
  }
  if (onChain.price > maxPrice) {
    throw new PaymentRefused(`The provider charges ${onChain.price} base units per call, above your maximum of ${maxPrice}: nothing signed.`, "price-above-maximum", "Raise your maximum to pay that price, or pick another provider.");
  }
  return onChain.price;
}

/** PaymentRefused unless the channel exists, is `account`'s, pays `provider` in `token`. */
export function checkChannel(channel: ChannelOnChain, account: string, provider: string, token: string): void {
  if (same(channel.buyer, ZERO)) throw new PaymentRefused(`Channel ${channel.id} does not exist on the market.`, "channel-needed");
  if (!same(channel.buyer, account)) throw new PaymentRefused(`Channel ${channel.id} belongs to ${channel.buyer}, not to you.`, "channel-needed");
  if (!same(channel.provider, provider) || !same(channel.token, token)) {
    throw new PaymentRefused(`Channel ${channel.id} pays ${channel.provider} in ${channel.token}, not this provider in its token: nothing signed.`, "gateway-terms-mismatch", "Pay this provider from a channel opened to it.");
  }
}

/** The next voucher's amount: one price above what the gateway confirmed, within the deposit
 *  (a voucher beyond it would become payable the moment the channel is topped up). */
export function nextAmount(record: ChannelRecord, price: bigint, channel: ChannelOnChain): bigint {
  const amount = record.accepted + price;
  if (amount > channel.deposit) {
    throw new PaymentRefused(`This call would bring channel ${channel.id} to ${amount}, more than its deposit of ${channel.deposit}: nothing signed.`, "over-deposit", "Top the channel up, or open a new one.");
  }
  return amount;
}

/** The count a gateway answering 402 stale names, if this browser signed that much itself. */
export function gatewayCount(problem: Record<string, unknown>, signed: bigint, channelId: bigint): bigint {
  let held: bigint;
  try {
    held = BigInt(String(problem.accepted_cumulative ?? "0"));
  } catch {
    throw new PaymentRefused(`The gateway refused the voucher for channel ${channelId} as stale without a usable count.`, "payment-required");
  }
  if (held > signed) {
    throw new PaymentRefused(`The gateway says channel ${channelId} has paid ${held}, but this browser signed at most ${signed} on it: nothing signed.`, "gateway-count-ahead", "Do not trust this gateway (or, if you used the channel elsewhere, use that client).");
  }
  return held;
}

/** What the gateway says the channel has paid after a call, never above the voucher just signed. */
export function acceptedAfter(header: string | null, signed: bigint): bigint {
  if (header === null || !/^\d{1,78}$/.test(header.trim())) return signed;
  const value = BigInt(header.trim());
  return value < signed ? value : signed;
}

// --- one paid call -----------------------------------------------------------------------------
export interface MeteredDeps {
  chainId: number;
  market: Address;
  account: Address;
  records: SignedVouchers;
  /** GET `${endpoint}/v1/provider` */
  terms: (endpoint: string) => Promise<GatewayTerms>;
  /** the chain's view, read fresh */
  provider: (address: Address) => Promise<ProviderOnChain>;
  channel: (id: bigint) => Promise<ChannelOnChain>;
  /** the wallet's eth_signTypedData_v4 */
  sign: (typedData: VoucherTypedData) => Promise<Hex>;
  post: (url: string, body: string, headers: Record<string, string>) => Promise<Response>;
  /** a gateway's error answer as an Error (problemFrom) */
  problem: (response: Response) => Promise<Error>;
}

export interface PaidCall {
  provider: Address;
  modelId: bigint;
  channelId: bigint;
  body: string;
  maxPrice: bigint;
}

export interface PaidResult {
  text: string;
  mediaType: string;
  price: bigint;
  /** what the channel has paid this provider after this call */
  cumulative: bigint;
}

/** Run model `modelId` once through `provider`'s gateway (its endpoint read from the chain). */
export async function invokePaid(deps: MeteredDeps, call: PaidCall): Promise<PaidResult> {
  const onChain = await deps.provider(call.provider);
  if (!onChain.endpoint) throw new PaymentRefused(`${call.provider} is not a registered provider on the market.`, "not-a-provider");
  const endpoint = onChain.endpoint.replace(/\/$/, "");
  const terms = await deps.terms(endpoint);
  const price = checkedPrice(terms, { chainId: deps.chainId, market: deps.market, provider: call.provider }, onChain, call.maxPrice);
  if (price === 0n) throw new PaymentRefused("This provider charges nothing per call: sign in at its gateway instead of paying from a channel.", "free-provider");
  let channelState = await deps.channel(call.channelId);
  checkChannel(channelState, deps.account, call.provider, onChain.priceToken);
  const key = SignedVouchers.key(deps.chainId, deps.market, call.channelId);
  for (let attempt = 0; attempt < 2; attempt++) {
    const record = deps.records.get(key);
    if (record.accepted + price > channelState.deposit) channelState = await deps.channel(call.channelId); // topped up since?
    const amount = nextAmount(record, price, channelState);
    const signature = await deps.sign(voucherTypedData(deps.chainId, deps.market, call.channelId, amount));
    deps.records.update(key, { signed: amount }); // once signed, it may leave this browser
    const response = await deps.post(`${endpoint}/v1/models/${call.modelId}/invoke`, call.body, {
      "Content-Type": "application/json",
      [VOUCHER_HEADER]: voucherHeader(call.channelId, amount, signature),
    });
    if (response.status === 402) {
      const problem = (await response.clone().json().catch(() => ({}))) as Record<string, unknown>;
      if (problem.reason === "stale") {
        deps.records.update(key, { accepted: gatewayCount(problem, deps.records.get(key).signed, call.channelId) });
        continue;
      }
    }
    if (!response.ok) throw await deps.problem(response);
    const cumulative = acceptedAfter(response.headers.get(ACCEPTED_HEADER), amount);
    deps.records.update(key, { accepted: cumulative });
    const mediaType = (response.headers.get("content-type") ?? "application/octet-stream").split(";")[0];
    return { text: await response.text(), mediaType, price, cumulative };
  }
  throw new PaymentRefused(`The gateway refused two vouchers in a row for channel ${call.channelId} as stale.`, "payment-required", "Another client is spending this channel.");
}
