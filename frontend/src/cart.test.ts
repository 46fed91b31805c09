import { describe, expect, it } from "vitest";
import { decodeFunctionData, encodeFunctionData } from "viem";
import { Cart, CartError, cartOrders, cartTotals, refusedOrderText, type CartItem } from "./cart";
import { BUILT_ABIS } from "./contracts";

const DDT = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
const USDC = "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0";
const BUYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

function memoryStorage() {
  const data = new Map<string, string>();
  return { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v), removeItem: (k: string) => void data.delete(k), data };
}

const item = (asset: number, price: string, extra: Partial<CartItem> = {}): CartItem => ({
  asset_id: asset, title: `Asset ${asset}`, offer_id: 1, token: DDT, price, duration: 30 * 86400, scope: "download", ...extra,
});

describe("the cart", () => {
  it("keeps items in the storage it is given, one per asset and scope", () => {
    const storage = memoryStorage();
    const cart = new Cart(storage);
    cart.add(item(1, "10"), { active: true }, false);
    cart.add(item(2, "25"), { active: true }, false);
    cart.add(item(1, "12", { offer_id: 2 }), { active: true }, false); // replaces asset 1's download pick
    expect(new Cart(storage).items().map((i) => [i.asset_id, i.offer_id])).toEqual([[2, 1], [1, 2]]);
    cart.remove(2, 1);
    expect(cart.items().map((i) => i.asset_id)).toEqual([1]);
    cart.clear();
    expect(storage.data.size).toBe(0);
  });

  it("refuses a paused offer and a retired asset", () => {
    const cart = new Cart(memoryStorage());
    expect(() => cart.add(item(1, "10"), { active: false }, false)).toThrow(/offer #1 of asset #1 is paused/i);
    expect(() => cart.add(item(1, "10"), { active: true }, true)).toThrow(/Asset #1 is retired/);
    expect(cart.items()).toEqual([]);
  });

  it("ignores what it cannot read back (another version's or a tampered entry)", () => {
    const storage = memoryStorage();
    storage.setItem("datadao.cart.v1", JSON.stringify([{ asset_id: 1 }, item(2, "5"), { ...item(3, "5"), price: "1e18" }, { ...item(4, "5"), token: "DDT" }]));
    expect(new Cart(storage).items().map((i) => i.asset_id)).toEqual([2]);
    storage.setItem("datadao.cart.v1", "{not json");
    expect(new Cart(storage).items()).toEqual([]);
  });

  it("adds up the total per token", () => {
    expect([...cartTotals([item(1, "10"), item(2, "25"), item(3, "7", { token: USDC })])]).toEqual([[DDT, 35n], [USDC, 7n]]);
  });
});

describe("orders", () => {
  it("commit to every term shown: token, price as the maximum, duration, scope", () => {
    const { orders, token, total } = cartOrders([item(1, "10"), item(4, "25", { offer_id: 3, duration: 0, scope: "compute" })], BUYER);
    expect(total).toBe(35n);
    expect(token).toBe("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
    expect(orders).toEqual([
      { assetId: 1n, offerId: 1n, licensee: BUYER, token, maxPrice: 10n, duration: 2592000n, scope: 0 },
      { assetId: 4n, offerId: 3n, licensee: BUYER, token, maxPrice: 25n, duration: 0n, scope: 1 },
    ]);
    const abi = BUILT_ABIS.AssetRegistry!;
    const permit = { value: total, deadline: 1n, v: 27, r: `0x${"11".repeat(32)}`, s: `0x${"22".repeat(32)}` } as const;
    const data = encodeFunctionData({ abi, functionName: "buyManyWithPermit", args: [orders, token, permit] });
    expect(decodeFunctionData({ abi, data }).args).toEqual([orders, token, permit]);
  });

  it("refuse an empty cart and a cart in two tokens (one permit covers one token)", () => {
    expect(() => cartOrders([], BUYER)).toThrow(CartError);
    expect(() => cartOrders([item(1, "1"), item(2, "1", { token: USDC })], BUYER)).toThrow(/pays in 2 tokens/);
  });

  it("name the refused item and why", () => {
    const items = [item(1, "10"), item(2, "25")];
    expect(refusedOrderText(items, "OfferInactive", [2n, 1n])).toBe("The owner paused the offer of \"Asset 2\" (asset #2): remove it from the cart; nothing was bought.");
    expect(refusedOrderText(items, "OfferTermsChanged", [1n, 1n])).toMatch(/changed the terms of "Asset 1"/);
    expect(refusedOrderText(items, "AssetIsRetired", [9n])).toBe("Asset #9 was retired: remove it from the cart; nothing was bought.");
    expect(refusedOrderText(items, "SomethingElse", [])).toBeNull();
  });
});
