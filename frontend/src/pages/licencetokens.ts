// Licence tokens on the pages: an offer that issues them says so on the asset page and sells
// them (approve + buy on LicenseTokens); its owner switches an offer to tokens (transferable or
// bound) or back; "My licenses" lists the connected account's tokens (public: GET
// /v1/accounts/{address}/licence-tokens) with a transfer form that checks before the wallet opens.
import type { Address } from "viem";
import type { App } from "../app";
import type { AssetDetail, LicenceTokenOut, Offer } from "../api";
import { formatDate } from "../format";
import { LicenceTokens, tokenMode, type TokenMode } from "../licencetokens";
import { SCOPE_NUMBER } from "../owner";
import { button, errorNotice, h, notice, replace, txLine } from "../ui";

function tokens(app: App): LicenceTokens | null {
  try {
    const chain = app.chain();
    return LicenceTokens.available(chain) ? new LicenceTokens(chain) : null;
  } catch {
    return null; // no deployment read yet: the offer sells address-bound licences as before
  }
}

/**
 * When `offer` issues licence tokens: say so in `row` and replace its buy buttons (`actions`)
 * with one that buys the token. Runs after the row is drawn (one read on chain).
 */
export async function showTokenOffer(app: App, asset: AssetDetail, offer: Offer, row: HTMLElement, actions: HTMLElement | null,
  status: ReturnType<typeof txLine>, rerender: () => void): Promise<void> {
  const contract = tokens(app);
  if (!contract) return;
  const assetId = BigInt(asset.asset_id);
  let mode: TokenMode;
  try {
    mode = tokenMode(await contract.tokenOffer(assetId, offer.offer_id));
  } catch {
    return;
  }
  row.dataset.tokens = mode;
  if (mode === "off") return;
  row.querySelector("p")?.append(h("span", { class: "badge", testid: "offer-token" },
    mode === "transferable" ? " — as a licence token you may transfer" : " — as a licence token bound to your address"));
  if (!actions) return;
  const shown = Object.freeze({ offer_id: offer.offer_id, token: offer.token, price: offer.price, duration: offer.duration, scope: offer.scope });
  actions.replaceChildren(button("Buy the licence token (approve + buy)", async () => {
    const result = await new LicenceTokens(app.chain()).buy(assetId, shown, status.update);
    if (result.phase === "confirmed") rerender();
  }, { testid: "buy-token" }));
}

/** The owner's switch: this offer's licences as transferable tokens, bound tokens, or address-bound (off); `status` is the owner tools' transaction line. */
export function tokenOfferControl(app: App, asset: AssetDetail, offer: Offer, status: ReturnType<typeof txLine>): HTMLElement {
  const assetId = BigInt(asset.asset_id);
  const select = h("select", { name: `offer-${offer.offer_id}-tokens`, "aria-label": "licence tokens", testid: "owner-token-mode" },
    h("option", { value: "off" }, "address-bound licences (no token)"),
    h("option", { value: "transferable" }, "licence tokens, transferable"),
    h("option", { value: "bound" }, "licence tokens, bound to the buyer"));
  const control = h("div", { class: "owner-tokens", testid: "owner-tokens", "data-offer": offer.offer_id },
    h("p", { class: "actions" }, h("label", {}, "Sell as ", select), " ",
      button("Save", async () => {
        const contract = tokens(app);
        if (!contract) {
          status.element.dataset.phase = "failed";
          status.element.textContent = "This deployment has no licence-token contract.";
          return;
        }
        const result = await contract.setTokenOffer(assetId, offer.offer_id, select.value as TokenMode, status.update);
        if (result.phase === "confirmed") control.dataset.mode = tokenMode(await contract.tokenOffer(assetId, offer.offer_id));
      }, { testid: "owner-token-save", class: "secondary" })));
  const contract = tokens(app);
  if (!contract) {
    control.hidden = true;
    return control;
  }
  void contract.tokenOffer(assetId, offer.offer_id).then((current) => {
    select.value = tokenMode(current);
    control.dataset.mode = select.value;
  }, () => undefined);
  return control;
}

function endText(token: LicenceTokenOut, nowMs: number): { text: string; expired: boolean } {
  if (token.expires_at === null) return { text: "perpetual", expired: false };
  const expired = Date.parse(token.expires_at) <= nowMs;
  return { text: `${formatDate(token.expires_at)}${expired ? " (expired)" : ""}`, expired };
}

/** "My licenses": the connected account's licence tokens, each with a transfer form. */
export async function licenceTokensSection(app: App, isCurrent: () => boolean): Promise<HTMLElement> {
  const section = h("section", { testid: "licence-tokens" }, h("h2", {}, "Licence tokens"));
  const account = app.account;
  if (!account) return section;
  const body = h("div", {}, notice("info", "Loading your licence tokens…"));
  const last = h("p", { class: "tx", testid: "licence-transfer-done", role: "status" });
  section.append(body, last);
  const load = async (): Promise<LicenceTokenOut[] | null> => {
    try {
      return await app.api.licenceTokens(account);
    } catch (error) {
      if (isCurrent()) replace(body, errorNotice(error));
      return null;
    }
  };
  const draw = (held: LicenceTokenOut[]) => {
    if (held.length === 0) {
      replace(body, notice("empty", "No licence tokens.", "Offers that issue licence tokens say so on the asset's page."));
      return;
    }
    const now = Date.now();
    replace(body, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "asset"), h("th", {}, "scope"), h("th", {}, "transferable"), h("th", {}, "valid until"), h("th", {}, "transfer to"))),
      h("tbody", {}, held.map((token) => {
        const { text, expired } = endText(token, now);
        const to = h("input", { name: `transfer-${token.token_id}`, size: 44, placeholder: "0x… (the new holder)", "aria-label": "new holder", testid: "licence-transfer-to" });
        const status = txLine();
        const send = button("Transfer", async () => {
          status.element.textContent = ""; // a retry does not show the last attempt's refusal
          delete status.element.dataset.phase;
          const result = await new LicenceTokens(app.chain()).transfer(BigInt(token.asset_id), SCOPE_NUMBER[token.scope], token.scope, to.value, status.update);
          if (result.phase !== "confirmed") return;
          last.textContent = result.message;
          void reloadUntil((fresh) => !fresh.some((t) => t.token_id === token.token_id));
        }, { testid: "licence-transfer" });
        return h("tr", { testid: "licence-token", "data-asset": token.asset_id, "data-token-id": token.token_id, "data-transferable": String(token.transferable), class: expired ? "expired" : "" },
          h("td", {}, h("a", { href: `#/asset/${token.asset_id}` }, token.title || `asset #${token.asset_id}`)),
          h("td", {}, token.scope),
          h("td", {}, token.transferable ? "yes" : "no (bound)"),
          h("td", {}, text),
          h("td", {}, h("p", { class: "actions" }, to, " ", send), status.element));
      }))));
  };
  /** After a transfer: the list again once the indexer has it (up to 30 s). */
  const reloadUntil = async (done: (fresh: LicenceTokenOut[]) => boolean) => {
    for (let tries = 0; tries < 60 && isCurrent(); tries++) {
      await new Promise((wait) => setTimeout(wait, 500));
      const fresh = await app.api.licenceTokens(account as Address).catch(() => null);
      if (fresh && done(fresh)) {
        if (isCurrent()) draw(fresh);
        return;
      }
    }
  };
  const held = await load();
  if (held && isCurrent()) draw(held);
  return section;
}
