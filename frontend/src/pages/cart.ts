// The cart page: the offers picked on asset pages, the total, and one `buyManyWithPermit`
// transaction for all of them (one EIP-2612 permit signed in the wallet for the total). A
// refused order is named: which item, and why.
import { decodeEventLog, type Hash } from "viem";
import type { App } from "../app";
import { Cart, CartError, cartOrders, cartTotals, refusedOrderText, type CartItem } from "../cart";
import type { ChainContext, TokenMeta } from "../contracts";
import { errorChain, NotEnoughTokensError, revertData } from "../errors";
import { formatDuration, formatTokenAmount } from "../format";
import { Market } from "../market";
import { offerPriceText, offerTermsText } from "../offers";
import { runTransaction } from "../tx";
import { button, errorText, h, notice, replace, txLine } from "../ui";
import type { PageContext } from "./page";

let shared: Cart | null = null;

/** The tab's cart (sessionStorage). */
export function theCart(): Cart {
  shared ??= new Cart(typeof window === "undefined" ? null : window.sessionStorage);
  return shared;
}

/** The asset page's "Add to cart" for one offer. */
export function addToCartButton(item: CartItem, active: boolean, retired: boolean, say: (text: string, failed: boolean) => void): HTMLButtonElement {
  return button("Add to cart", () => {
    try {
      theCart().add(item, { active }, retired);
      say(`Added to the cart (${theCart().items().length} item${theCart().items().length === 1 ? "" : "s"}).`, false);
    } catch (error) {
      say(errorText(error), true);
    }
  }, { testid: "add-to-cart", class: "secondary" });
}

export async function renderCart(context: PageContext): Promise<void> {
  const { app, root } = context;
  const cart = theCart();
  const status = txLine();
  const result = h("div", { testid: "cart-result" });
  const draw = () => {
    const items = cart.items();
    replace(root, h("h1", {}, "Cart"),
      h("p", { class: "muted" }, "Licenses picked on asset pages, bought together in one transaction with one permit signature. Each order commits to the terms shown: if an owner changed one since, the whole purchase is refused and nothing is paid."),
      items.length ? itemsTable(items, (item) => { cart.remove(item.asset_id, item.offer_id); draw(); }) : notice("empty", "The cart is empty.", "Add offers from an asset's page."),
      items.length ? h("p", { testid: "cart-total" }, "Total: ", totalText(items)) : null,
      items.length ? h("p", { class: "actions" },
        button("Buy all (permit, one transaction)", () => buyAll(app, cart, status, result, draw), { testid: "cart-buy" }),
        button("Empty the cart", () => { cart.clear(); draw(); }, { testid: "cart-clear", class: "secondary" })) : null,
      status.element, result);
  };
  draw();
}

function itemsTable(items: CartItem[], remove: (item: CartItem) => void): HTMLElement {
  return h("table", { testid: "cart-items" },
    h("thead", {}, h("tr", {}, h("th", {}, "asset"), h("th", {}, "license"), h("th", {}, "price"), h("th", {}, ""))),
    h("tbody", {}, items.map((item) => h("tr", { testid: "cart-item", "data-asset": item.asset_id, "data-offer": item.offer_id },
      h("td", {}, h("a", { href: `#/asset/${item.asset_id}` }, item.title || `Asset #${item.asset_id}`), ` (#${item.asset_id}, offer #${item.offer_id})`),
      h("td", {}, offerTermsText(item, formatDuration)),
      h("td", {}, offerPriceText(item)),
      h("td", {}, button("Remove", () => remove(item), { testid: "cart-remove", class: "secondary" }))))));
}

function totalText(items: CartItem[]): string {
  return [...cartTotals(items).entries()].map(([token, total]) => offerPriceText({ token, price: String(total) })).join(" + ");
}

async function buyAll(app: App, cart: Cart, status: ReturnType<typeof txLine>, result: HTMLElement, draw: () => void): Promise<void> {
  result.replaceChildren();
  const items = cart.items();
  const label = `Buy ${items.length} license${items.length === 1 ? "" : "s"}`;
  let chain: ChainContext;
  let token: TokenMeta | undefined;
  try {
    chain = app.chain();
    const { account } = chain.walletClient();
    const { orders, token: address, total } = cartOrders(items, account);
    token = await chain.tokenInfo(address);
    const balance = await chain.tokenBalance(address, account);
    if (balance < total) throw new NotEnoughTokensError(balance, total, token);
    const market = new Market(chain);
    const meta = token;
    const outcome = await runTransaction({
      label,
      token: meta,
      send: async () => {
        const permit = await market.signPermit(meta, total);
        status.update({ phase: "wallet", label, message: `${label}: permit for ${formatTokenAmount(total, meta)} signed; confirm the purchase in your wallet…` });
        const found = chain.findFunction(["AssetRegistry"], ["buyManyWithPermit"], "AssetRegistry.buyManyWithPermit");
        try {
          return await chain.write(found, [orders, address, permit]);
        } catch (error) {
          throw namedRefusal(items, error);
        }
      },
      wait: (hash) => chain.publicClient.waitForTransactionReceipt({ hash }),
      onUpdate: status.update,
    });
    if (outcome.phase === "confirmed" && outcome.hash) {
      const bought = await purchasedIn(chain, outcome.hash);
      cart.clear();
      draw();
      replace(result, h("p", { testid: "cart-bought", "data-hash": outcome.hash, "data-count": bought.length },
        `${bought.length} license${bought.length === 1 ? "" : "s"} bought in one transaction (${outcome.hash}): `,
        bought.map((id, i) => [i ? ", " : "", h("a", { href: `#/asset/${id}` }, `asset #${id}`)]).flat(), ". ",
        h("a", { href: "#/licenses" }, "My licenses")));
    }
  } catch (error) {
    status.element.dataset.phase = "failed";
    status.element.textContent = `${label} failed: ${errorText(error)}`;
  }
}

/** A revert in the simulation, turned into which item was refused and why. */
function namedRefusal(items: CartItem[], error: unknown): unknown {
  const revert = revertData(errorChain(error));
  const text = revert ? refusedOrderText(items, revert.errorName, revert.args) : null;
  return text ? new CartError(text) : error;
}

/** The asset ids of the LicensePurchased events in the transaction. */
async function purchasedIn(chain: ChainContext, hash: Hash): Promise<number[]> {
  const receipt = await chain.publicClient.getTransactionReceipt({ hash });
  const registry = chain.contract("AssetRegistry");
  const ids: number[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== registry.address.toLowerCase()) continue;
    try {
      const event = decodeEventLog({ abi: registry.abi, data: log.data, topics: log.topics });
      if (event.eventName === "LicensePurchased") ids.push(Number((event.args as unknown as { assetId: bigint }).assetId));
    } catch {
      // another event
    }
  }
  return ids;
}
