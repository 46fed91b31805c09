// The cart: offers a buyer picked on asset pages, kept in sessionStorage (this tab, until it
// closes), bought together in one `buyManyWithPermit` transaction. Each item keeps the offer's
// terms as the buyer saw them; every order commits to them (token, price as the maximum,
// duration, scope), so an offer changed meanwhile is refused on chain and nothing is paid.
import { getAddress, isAddress, type Address } from "viem";
import type { Offer } from "./api";
import type { StorageLike } from "./siwe";
import { SCOPE_NUMBER } from "./owner";

export interface CartItem {
  asset_id: number;
  title: string;
  offer_id: number;
  token: string;
  /** base units, decimal string */
  price: string;
  duration: number;
  scope: Offer["scope"];
}

/** The registry's IAssetRegistry.Order. */
export interface Order {
  assetId: bigint;
  offerId: bigint;
  licensee: Address;
  token: Address;
  maxPrice: bigint;
  duration: bigint;
  scope: number;
}

export const CART_KEY = "datadao.cart.v1";

/** Why an item cannot be in the cart (or the cart cannot be bought), in one line. */
export class CartError extends Error {
  override name = "CartError";
}

function validItem(value: unknown): value is CartItem {
  const item = value as CartItem;
  return !!item && Number.isInteger(item.asset_id) && Number.isInteger(item.offer_id) && typeof item.token === "string" && isAddress(item.token, { strict: false })
    && /^\d+$/.test(String(item.price)) && Number.isInteger(item.duration) && (item.scope === "download" || item.scope === "compute")
    && typeof item.title === "string";
}

export class Cart {
  private listeners = new Set<() => void>();

  constructor(private readonly storage: StorageLike | null, private readonly key = CART_KEY) {}

  items(): CartItem[] {
    try {
      const parsed = JSON.parse(this.storage?.getItem(this.key) ?? "[]") as unknown;
      return Array.isArray(parsed) ? parsed.filter(validItem) : [];
    } catch {
      return [];
    }
  }

  private save(items: CartItem[]): void {
    if (items.length) this.storage?.setItem(this.key, JSON.stringify(items));
    else this.storage?.removeItem(this.key);
    for (const listener of [...this.listeners]) listener();
  }

  /** Add the offer as shown; the same asset and scope again replaces the earlier pick (one license each). */
  add(item: CartItem, offer: Pick<Offer, "active">, retired: boolean): void {
    if (retired) throw new CartError(`Asset #${item.asset_id} is retired: nothing new is sold.`);
    if (!offer.active) throw new CartError(`Offer #${item.offer_id} of asset #${item.asset_id} is paused: nothing is sold on it now.`);
    const rest = this.items().filter((other) => !(other.asset_id === item.asset_id && other.scope === item.scope));
    this.save([...rest, { ...item }]);
  }

  remove(assetId: number, offerId: number): void {
    this.save(this.items().filter((item) => !(item.asset_id === assetId && item.offer_id === offerId)));
  }

  clear(): void {
    this.save([]);
  }

  has(assetId: number, offerId: number): boolean {
    return this.items().some((item) => item.asset_id === assetId && item.offer_id === offerId);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The sum per token (lower-case address → base units), in the order the tokens first appear. */
export function cartTotals(items: readonly Pick<CartItem, "token" | "price">[]): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const item of items) {
    const token = item.token.toLowerCase();
    totals.set(token, (totals.get(token) ?? 0n) + BigInt(item.price));
  }
  return totals;
}

/**
 * The orders of a `buyManyWithPermit` for `licensee`, and the one token and total the permit
 * covers. One permit covers one token: a cart in two tokens is refused (buy one token's part,
 * then the other's).
 */
export function cartOrders(items: readonly CartItem[], licensee: Address): { orders: Order[]; token: Address; total: bigint } {
  if (items.length === 0) throw new CartError("The cart is empty: add offers from asset pages first.");
  const totals = cartTotals(items);
  if (totals.size > 1) {
    throw new CartError(`The cart pays in ${totals.size} tokens and one permit covers one token: remove the items in the other tokens and buy them separately.`);
  }
  const orders = items.map((item) => {
    const scope = SCOPE_NUMBER[item.scope];
    if (scope === undefined) throw new CartError(`Unknown license scope ${String(item.scope)} for asset #${item.asset_id}.`);
    return {
      assetId: BigInt(item.asset_id),
      offerId: BigInt(item.offer_id),
      licensee,
      token: getAddress(item.token),
      maxPrice: BigInt(item.price),
      duration: BigInt(item.duration),
      scope,
    };
  });
  const [[token, total]] = [...totals.entries()] as [[string, bigint]];
  return { orders, token: getAddress(token), total };
}

/** Why the registry refused an order, in words, from the items and the revert's name and arguments. */
export function refusedOrderText(items: readonly CartItem[], errorName: string, args: readonly unknown[]): string | null {
  const assetId = typeof args[0] === "bigint" ? Number(args[0]) : null;
  const item = assetId === null ? undefined : items.find((i) => i.asset_id === assetId);
  const name = item ? `"${item.title}" (asset #${item.asset_id})` : assetId === null ? "one item" : `asset #${assetId}`;
  switch (errorName) {
    case "OfferInactive":
      return `The owner paused the offer of ${name}: remove it from the cart; nothing was bought.`;
    case "OfferTermsChanged":
      return `The owner changed the terms of ${name} since you added it: remove it and add it again; nothing was bought.`;
    case "AssetIsRetired":
      return `${name[0]!.toUpperCase()}${name.slice(1)} was retired: remove it from the cart; nothing was bought.`;
    case "UnknownOffer":
      return `The offer picked for ${name} no longer exists: remove it from the cart; nothing was bought.`;
    case "PriceAboveMax":
      return "The owner raised the price of an item since you added it: remove it and add it again; nothing was bought.";
    case "EmptyOrder":
      return "The cart is empty.";
    default:
      return null;
  }
}
