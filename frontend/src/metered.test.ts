import { describe, expect, it } from "vitest";
import { getAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import vectors from "./testdata/voucher-vectors.json";
import {
  acceptedAfter,
  checkChannel,
  checkedPrice,
  gatewayCount,
  invokePaid,
  nextAmount,
  PaymentRefused,
  SignedVouchers,
  voucherDigest,
  voucherHeader,
  voucherTypedData,
  type ChannelOnChain,
  type GatewayTerms,
  type MeteredDeps,
  type ProviderOnChain,
} from "./metered";
import type { StorageLike } from "./siwe";

// vectors computed by dapp/market/vouchers.py (tests/dapp/test_voucher_vectors.py)
const SIGNER = privateKeyToAccount(`0x${vectors.private_key}` as Hex);

describe("the voucher is Python's EIP-712 encoding", () => {
  for (const vector of vectors.vectors) {
    const channelId = BigInt(vector.channel_id);
    const amount = BigInt(vector.cumulative_amount);
    it(`chain ${vector.chain_id}, channel ${vector.channel_id}, amount ${vector.cumulative_amount}: same digest and signature`, async () => {
      expect(voucherDigest(vector.chain_id, vector.market, channelId, amount)).toBe(vector.digest);
      const signature = await SIGNER.signTypedData(voucherTypedData(vector.chain_id, vector.market, channelId, amount));
      expect(voucherHeader(channelId, amount, signature)).toBe(vector.header);
    });
  }

  it("the signer is the one Python signed with", () => {
    expect(SIGNER.address).toBe(vectors.signer);
  });
});

function memoryStorage(): StorageLike & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return { items, getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v), removeItem: (k) => void items.delete(k) };
}

const MARKET = getAddress("0x3194cbdc3dbcd3e11a07892e7ba5c3394048cc87");
const PROVIDER = getAddress("0x90f79bf6eb2c4f870365e785982e1f101e93b906");
const TOKEN = getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3");
const BUYER = SIGNER.address;
const PRICE = 10n ** 16n;
const TERMS: GatewayTerms = { address: PROVIDER, market: MARKET, chain_id: 1337, token: TOKEN, price: PRICE.toString(), endpoint: "http://provider.test" };
const ON_CHAIN: ProviderOnChain = { priceToken: TOKEN, price: PRICE, stake: 100n, endpoint: "http://provider.test" };
const CHANNEL: ChannelOnChain = { id: 7n, buyer: BUYER, provider: PROVIDER, token: TOKEN, deposit: 5n * PRICE, expiry: 2n ** 40n, redeemed: 0n };
const EXPECTED = { chainId: 1337, market: MARKET, provider: PROVIDER };

function refusal(action: () => unknown): PaymentRefused {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(PaymentRefused);
    expect((error as Error).message).not.toContain("\n");
    return error as PaymentRefused;
  }
  throw new Error("not refused");
}

describe("the terms come from the chain, never only from the gateway", () => {
  it("takes the chain's price when the gateway says the same", () => {
    expect(checkedPrice(TERMS, EXPECTED, ON_CHAIN, PRICE)).toBe(PRICE);
  });
  it("refuses another market or chain", () => {
    expect(refusal(() => checkedPrice({ ...TERMS, market: TOKEN }, EXPECTED, ON_CHAIN, PRICE)).code).toBe("gateway-terms-mismatch");
    expect(refusal(() => checkedPrice({ ...TERMS, chain_id: 1 }, EXPECTED, ON_CHAIN, PRICE)).code).toBe("gateway-terms-mismatch");
  });
  it("refuses a gateway naming another provider than the one picked", () => {
    expect(refusal(() => checkedPrice({ ...TERMS, address: BUYER }, EXPECTED, ON_CHAIN, PRICE)).message).toMatch(/not 0x90F7/);
  });
  it("refuses a gateway price or token that differs from the chain's", () => {
    expect(refusal(() => checkedPrice({ ...TERMS, price: "1" }, EXPECTED, ON_CHAIN, PRICE)).message).toMatch(/charges 10000000000000000 .* on chain/);
    expect(refusal(() => checkedPrice({ ...TERMS, token: MARKET }, EXPECTED, ON_CHAIN, PRICE)).code).toBe("gateway-terms-mismatch");
  });
  it("refuses an unregistered provider", () => {
    const gone = { ...ON_CHAIN, priceToken: "0x0000000000000000000000000000000000000000" as Address };
    expect(refusal(() => checkedPrice(TERMS, EXPECTED, gone, PRICE)).message).toMatch(/not a registered provider/);
  });
  it("refuses a price above the user's maximum, even if gateway and chain agree", () => {
    const raised = { ...ON_CHAIN, price: 3n * PRICE };
    const error = refusal(() => checkedPrice({ ...TERMS, price: raised.price.toString() }, EXPECTED, raised, PRICE));
    expect(error.code).toBe("price-above-maximum");
    expect(error.message).toBe("The provider charges 30000000000000000 base units per call, above your maximum of 10000000000000000: nothing signed.");
  });
});

describe("the channel", () => {
  it("must be this account's, to the provider, in its token", () => {
    checkChannel(CHANNEL, BUYER.toLowerCase(), PROVIDER, TOKEN);
    expect(refusal(() => checkChannel(CHANNEL, PROVIDER, PROVIDER, TOKEN)).message).toMatch(/belongs to/);
    expect(refusal(() => checkChannel({ ...CHANNEL, provider: BUYER }, BUYER, PROVIDER, TOKEN)).code).toBe("gateway-terms-mismatch");
    expect(refusal(() => checkChannel({ ...CHANNEL, buyer: "0x0000000000000000000000000000000000000000" }, BUYER, PROVIDER, TOKEN)).message).toMatch(/does not exist/);
  });
  it("never signs above the deposit", () => {
    expect(nextAmount({ accepted: 4n * PRICE, signed: 4n * PRICE }, PRICE, CHANNEL)).toBe(5n * PRICE);
    expect(refusal(() => nextAmount({ accepted: 5n * PRICE, signed: 5n * PRICE }, PRICE, CHANNEL)).code).toBe("over-deposit");
  });
});

describe("the gateway's counts", () => {
  it("a stale count above what this browser ever signed is refused", () => {
    expect(gatewayCount({ accepted_cumulative: String(2n * PRICE) }, 2n * PRICE, 7n)).toBe(2n * PRICE);
    expect(refusal(() => gatewayCount({ accepted_cumulative: String(3n * PRICE) }, 2n * PRICE, 7n)).code).toBe("gateway-count-ahead");
    expect(refusal(() => gatewayCount({ accepted_cumulative: "lots" }, 2n * PRICE, 7n)).code).toBe("payment-required");
  });
  it("an accepted count is never above the voucher just signed", () => {
    expect(acceptedAfter(String(9n * PRICE), 2n * PRICE)).toBe(2n * PRICE);
    expect(acceptedAfter(String(PRICE), 2n * PRICE)).toBe(PRICE);
    expect(acceptedAfter(null, 2n * PRICE)).toBe(2n * PRICE);
    expect(acceptedAfter("-1", 2n * PRICE)).toBe(2n * PRICE);
  });
  it("the record never goes down and is kept per chain, market and channel", () => {
    const records = new SignedVouchers(memoryStorage());
    const key = SignedVouchers.key(1337, MARKET, 7n);
    expect(key).toBe(`datadao.vouchers:1337:${MARKET.toLowerCase()}:7`);
    records.update(key, { signed: 3n });
    records.update(key, { accepted: 2n, signed: 1n });
    expect(records.get(key)).toEqual({ accepted: 2n, signed: 3n });
    expect(records.get(SignedVouchers.key(1, MARKET, 7n))).toEqual({ accepted: 0n, signed: 0n });
  });
});

/** A provider gateway answering with `answer` for each call; what it was sent is kept. */
function deps(answer: (header: string, n: number) => Response, overrides: Partial<MeteredDeps> = {}) {
  const sent: string[] = [];
  const storage = memoryStorage();
  const value: MeteredDeps = {
    chainId: 1337, market: MARKET, account: BUYER, records: new SignedVouchers(storage),
    terms: async () => TERMS,
    provider: async () => ON_CHAIN,
    channel: async () => CHANNEL,
    sign: (typed) => SIGNER.signTypedData(typed),
    post: async (_url, _body, headers) => {
      sent.push(headers["X-DataDAO-Voucher"]);
      return answer(headers["X-DataDAO-Voucher"], sent.length);
    },
    problem: async (response) => new Error(`HTTP ${response.status}`),
    ...overrides,
  };
  return { deps: value, sent, storage };
}

const paid = (cumulative: bigint) => new Response('{"ok":true}', { status: 200, headers: { "Content-Type": "application/json", "X-DataDAO-Accepted-Cumulative": cumulative.toString() } });
const stale = (accepted: bigint) => new Response(JSON.stringify({ reason: "stale", accepted_cumulative: accepted.toString() }), { status: 402 });
const CALL = { provider: PROVIDER, modelId: 3n, channelId: 7n, body: "{}", maxPrice: PRICE };

describe("a paid call", () => {
  it("signs one price more per call and shows the running total", async () => {
    const { deps: d, sent } = deps((header) => paid(BigInt(header.split(":")[1])));
    expect((await invokePaid(d, CALL)).cumulative).toBe(PRICE);
    const second = await invokePaid(d, CALL);
    expect(second.cumulative).toBe(2n * PRICE);
    expect(second.text).toBe('{"ok":true}');
    expect(sent.map((h) => h.split(":")[1])).toEqual([PRICE.toString(), (2n * PRICE).toString()]);
  });
  it("takes a stale count it signed itself and signs on top of it", async () => {
    const { deps: d, sent } = deps((header, n) => (n === 1 ? stale(PRICE) : paid(BigInt(header.split(":")[1]))));
    d.records.update(SignedVouchers.key(1337, MARKET, 7n), { signed: PRICE }); // a call whose answer was lost
    expect((await invokePaid(d, CALL)).cumulative).toBe(2n * PRICE);
    expect(sent.length).toBe(2);
  });
  it("a gateway claiming more than this browser signed gets no second voucher", async () => {
    const { deps: d, sent } = deps(() => stale(4n * PRICE));
    await expect(invokePaid(d, CALL)).rejects.toThrow(/signed at most 10000000000000000/);
    expect(sent.length).toBe(1);
  });
  it("a gateway raising its price above the maximum gets nothing signed", async () => {
    const signed: unknown[] = [];
    const { deps: d, sent } = deps(() => paid(PRICE), {
      terms: async () => ({ ...TERMS, price: (2n * PRICE).toString() }),
      provider: async () => ({ ...ON_CHAIN, price: 2n * PRICE }),
      sign: async (typed) => (signed.push(typed), "0x"),
    });
    await expect(invokePaid(d, CALL)).rejects.toThrow(/above your maximum/);
    expect(signed.length + sent.length).toBe(0);
  });
  it("a gateway lying about the price gets nothing signed", async () => {
    const { deps: d, sent } = deps(() => paid(PRICE), { terms: async () => ({ ...TERMS, price: "1" }) });
    await expect(invokePaid(d, CALL)).rejects.toThrow(/on chain: nothing signed/);
    expect(sent.length).toBe(0);
  });
  it("a call beyond the deposit is refused before signing, after re-reading the channel", async () => {
    let reads = 0;
    const { deps: d, sent } = deps(() => paid(PRICE), { channel: async () => (reads++, { ...CHANNEL, deposit: PRICE }) });
    d.records.update(SignedVouchers.key(1337, MARKET, 7n), { accepted: PRICE });
    await expect(invokePaid(d, CALL)).rejects.toThrow(/more than its deposit/);
    expect(sent.length).toBe(0);
    expect(reads).toBe(2);
  });
});
