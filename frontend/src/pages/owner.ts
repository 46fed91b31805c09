// The asset page's owner tools: add or change an offer, pause / resume it, sell it as licence
// tokens (pages/licencetokens.ts), grant and revoke a license, retire the asset. Shown to the connected owner (sent from the wallet); for an asset a
// DataDAO owns, the same calls are shown as the target and calldata a member proposes on the
// DAO's page. Bad input is refused in one line before the wallet opens.
import type { App } from "../app";
import type { AssetDetail, Offer } from "../api";
import { formatAmount, formatDuration } from "../format";
import { offerPriceText, offerTermsText } from "../offers";
import { grantExpiry, nextOfferId, offerInput, ownerCalls, parseAccount, parseScope, proposalOf, type OwnerCall } from "../owner";
import { runTransaction } from "../tx";
import { button, errorText, field, h, txLine } from "../ui";
import { tokenOfferControl } from "./licencetokens";
import type { PageContext } from "./page";

export function ownerSection(app: App, asset: AssetDetail, refresh: () => void): HTMLElement | null {
  const account = app.account?.toLowerCase();
  const isOwner = !!account && account === asset.owner.toLowerCase();
  const daoOwned = !!asset.dao;
  if (!isOwner && !daoOwned) return null;
  if (asset.retired) return null;
  const assetId = BigInt(asset.asset_id);
  const status = txLine();
  const proposal = h("div", { class: "proposal-calldata", testid: "owner-proposal" });
  const fail = (error: unknown) => {
    status.element.dataset.phase = "failed";
    status.element.textContent = errorText(error);
  };
  /** Send `call` from the owner's wallet, or (a DAO's asset) show what a member proposes. */
  const run = (make: () => OwnerCall | Promise<OwnerCall>) => async () => {
    status.element.textContent = "";
    delete status.element.dataset.phase;
    try {
      const call = await make();
      const chain = app.chain();
      if (!isOwner) {
        const registry = chain.contract("AssetRegistry");
        const { target, calldata, description } = proposalOf(call, registry.address, registry.abi);
        const link = `#/dao?address=${asset.dao}`;
        proposal.replaceChildren(
          h("p", {}, "This asset belongs to a DataDAO: a member proposes this call on ", h("a", { href: link, testid: "owner-dao-link" }, "the DAO's page"), "."),
          field("target", h("code", { testid: "owner-proposal-target" }, target)),
          field("calldata", h("textarea", { rows: 3, cols: 60, readonly: true, testid: "owner-proposal-calldata" }, calldata)),
          field("description", h("code", { testid: "owner-proposal-description" }, description)));
        return;
      }
      const found = chain.findFunction(["AssetRegistry"], [call.functionName], `AssetRegistry.${call.functionName}`);
      const result = await runTransaction({
        label: call.label,
        send: () => chain.write(found, call.args),
        wait: (hash) => chain.publicClient.waitForTransactionReceipt({ hash }),
        onUpdate: status.update,
      });
      // offers and retirement are in the catalog; grants are on chain only
      if (result.phase === "confirmed" && call.functionName !== "grant" && call.functionName !== "revokeGrant") refresh();
    } catch (error) {
      fail(error);
    }
  };
  const tokens = () => app.paymentTokens;
  const section = h("section", { class: "owner-tools", testid: "owner-tools" },
    h("h2", {}, isOwner ? "Owner tools" : "Owner tools (by DAO vote)"),
    h("p", { class: "muted" }, isOwner
      ? "You own this asset: change what is sold, give licenses away, or retire it."
      : "A DataDAO owns this asset: each action below gives the call its members vote on."),
  );
  for (const offer of asset.offers) {
    const controls = offerControls(asset, offer, run, tokens);
    if (isOwner) controls.append(tokenOfferControl(app, asset, offer, status));
    section.append(controls);
  }
  if (isOwner) section.append(h("p", {}, h("a", { href: `#/publish?version-of=${asset.asset_id}`, testid: "owner-new-version" },
    "Publish a new version"), " (new content, encrypted and uploaded here; every earlier version stays readable)"));
  section.append(newOfferForm(asset, run, tokens), grantForm(app, asset, run), retireControl(assetId, run), status.element, proposal);
  return section;
}

/** Once the catalog has the owner's change (the indexer follows the chain; up to 30 s), draw the page anew. */
export async function showOwnerChange(context: PageContext, before: AssetDetail, render: () => Promise<void>): Promise<void> {
  const was = JSON.stringify([before.offers, before.retired]);
  for (let tries = 0; tries < 60 && context.isCurrent(); tries++) {
    await new Promise((done) => setTimeout(done, 500));
    const fresh = await context.app.api.asset(before.asset_id).catch(() => null);
    if (fresh && JSON.stringify([fresh.offers, fresh.retired]) !== was) {
      if (context.isCurrent()) await render();
      return;
    }
  }
}

type Run = (make: () => OwnerCall | Promise<OwnerCall>) => () => Promise<void>;
type Tokens = () => readonly { address: string; decimals: number; symbol: string }[];

function offerInputs(defaults: { token?: string; price?: string; duration?: string; scope?: Offer["scope"] }, tokens: Tokens, prefix: string) {
  const token = h("select", { name: `${prefix}-token`, "aria-label": "payment token", testid: `${prefix}-token` },
    tokens().map((t) => h("option", { value: t.address, selected: t.address.toLowerCase() === defaults.token?.toLowerCase() }, t.symbol)));
  const price = h("input", { name: `${prefix}-price`, value: defaults.price ?? "", inputmode: "decimal", size: 8, "aria-label": "price", testid: `${prefix}-price` });
  const duration = h("input", { name: `${prefix}-duration`, value: defaults.duration ?? "30d", size: 6, "aria-label": "duration (30d, 12h, 0 = perpetual)", testid: `${prefix}-duration` });
  const scope = h("select", { name: `${prefix}-scope`, "aria-label": "scope", testid: `${prefix}-scope` },
    (["download", "compute"] as const).map((s) => h("option", { value: s, selected: s === defaults.scope }, s)));
  const read = () => offerInput({ token: token.value, price: price.value, duration: duration.value, scope: scope.value }, tokens());
  const fields = [field("token", token), field("price", price), field("duration", duration), field("scope", scope)];
  return { read, fields };
}

function durationText(seconds: number): string {
  if (seconds === 0) return "0";
  for (const [unit, size] of [["y", 365 * 86400], ["w", 7 * 86400], ["d", 86400], ["h", 3600], ["m", 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

function offerControls(asset: AssetDetail, offer: Offer, run: Run, tokens: Tokens): HTMLElement {
  const assetId = BigInt(asset.asset_id);
  const decimals = tokens().find((t) => t.address.toLowerCase() === offer.token.toLowerCase())?.decimals ?? 18;
  const inputs = offerInputs({ token: offer.token, price: formatAmount(BigInt(offer.price), decimals).replace(/,/g, ""), duration: durationText(offer.duration), scope: offer.scope }, tokens, `offer-${offer.offer_id}`);
  const change = h("div", { testid: "owner-change-form" }, h("p", { class: "actions" }, inputs.fields,
    button("Save the offer", run(() => ownerCalls.setOffer(assetId, offer.offer_id, inputs.read())), { testid: "owner-save-offer" })));
  change.hidden = true;
  return h("div", { class: "offer owner-offer", testid: "owner-offer", "data-offer": offer.offer_id, "data-active": String(offer.active) },
    h("p", {},
      h("strong", {}, `#${offer.offer_id}: ${offerPriceText(offer)}`), ` — ${offerTermsText(offer, formatDuration)}`,
      h("span", { testid: "owner-offer-state" }, offer.active ? " (on sale)" : " (paused)"), " ",
      offer.active
        ? button("Pause", run(() => ownerCalls.setOfferActive(assetId, offer.offer_id, false)), { testid: "owner-pause", class: "secondary" })
        : button("Resume", run(() => ownerCalls.setOfferActive(assetId, offer.offer_id, true)), { testid: "owner-resume", class: "secondary" }),
      " ",
      button("Change…", () => void (change.hidden = !change.hidden), { testid: "owner-change", class: "secondary" })),
    change);
}

function newOfferForm(asset: AssetDetail, run: Run, tokens: Tokens): HTMLElement {
  const assetId = BigInt(asset.asset_id);
  const offerId = nextOfferId(asset.offers);
  const inputs = offerInputs({ token: tokens()[0]?.address, price: "", duration: "30d", scope: "download" }, tokens, "new-offer");
  return h("div", { testid: "owner-new-offer" }, h("h3", {}, "Add an offer"),
    h("p", { class: "actions" }, inputs.fields,
      button("Add the offer", run(() => ownerCalls.setOffer(assetId, offerId, inputs.read(), true)), { testid: "owner-add-offer" })));
}

function grantForm(app: App, asset: AssetDetail, run: Run): HTMLElement {
  const assetId = BigInt(asset.asset_id);
  const licensee = h("input", { name: "grant-licensee", size: 44, placeholder: "0x… (who gets the license)", "aria-label": "licensee", testid: "grant-licensee" });
  const scope = h("select", { name: "grant-scope", "aria-label": "scope", testid: "grant-scope" }, h("option", { value: "download" }, "download"), h("option", { value: "compute" }, "compute"));
  const expiry = h("input", { name: "grant-expiry", value: "30d", size: 12, "aria-label": "for (30d) or until (2027-01-31)", testid: "grant-expiry" });
  return h("div", { testid: "owner-grant" }, h("h3", {}, "Grant or revoke a license"),
    h("p", { class: "muted" }, "A grant gives a license without a sale, until the date you set; revoking ends a grant (licenses bought stay valid)."),
    h("p", { class: "actions" }, field("licensee", licensee), field("scope", scope), field("for / until", expiry),
      // the end from the chain's time (a dev chain may run ahead of the browser's clock)
      button("Grant", run(async () => ownerCalls.grant(assetId, parseAccount(licensee.value, "licensee"), parseScope(scope.value),
        grantExpiry(expiry.value, await app.chain().transactionTime()))), { testid: "owner-grant-button" }),
      button("Revoke", run(() => ownerCalls.revokeGrant(assetId, parseAccount(licensee.value, "licensee"), parseScope(scope.value))), { testid: "owner-revoke", class: "secondary" })));
}

function retireControl(assetId: bigint, run: Run): HTMLElement {
  const confirm = h("input", { type: "checkbox", name: "retire-confirm", testid: "retire-confirm" });
  return h("div", { testid: "owner-retire" }, h("h3", {}, "Retire"),
    h("p", { class: "muted" }, "Retiring stops all sales for good; licenses already sold stay valid. It cannot be undone."),
    h("p", { class: "actions" }, h("label", {}, confirm, " I understand this cannot be undone"), " ",
      button("Retire the asset", run(() => {
        if (!confirm.checked) throw new Error("Tick the box to confirm: retiring cannot be undone.");
        return ownerCalls.retire(assetId);
      }), { testid: "owner-retire-button", class: "danger" })));
}
