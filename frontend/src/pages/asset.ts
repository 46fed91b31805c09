// One asset: metadata, versions, offers (buy with permit or approve, on the terms shown), sales,
// curation (stake, start earning once warmed up, unstake, withdraw stake, claim) and the licensed download with a progress bar.
import type { Address } from "viem";
import type { App } from "../app";
import type { AssetDetail, Offer } from "../api";
import { downloadWithResume } from "../download";
import { explainError } from "../errors";
import { formatBytes, formatDate, formatDuration, formatPercent, formatTokenAmount, parseAmount, shortAddress } from "../format";
import { Market, type BuyMethod } from "../market";
import { offerPriceText, offerTermsText } from "../offers";
import { pinText, policyText, resultCapText } from "../policy";
import { button, errorNotice, errorText, field, h, notice, progressBar, replace, txLine } from "../ui";
import { checkedMetadata, ContentMismatchError, contentProblem, sha256Of, type DeclaredContent } from "../verify";
import { addToCartButton } from "./cart";
import { showTokenOffer } from "./licencetokens";
import { ownerSection, showOwnerChange } from "./owner";
import type { PageContext } from "./page";

export async function renderAsset(context: PageContext): Promise<void> {
  const { app, root, params, isCurrent } = context;
  const assetId = BigInt(params.id ?? "0");
  replace(root, notice("info", `Loading asset ${assetId}…`));
  let asset: AssetDetail;
  try {
    asset = await app.api.asset(assetId);
  } catch (error) {
    if (isCurrent()) replace(root, h("h1", {}, `Asset ${assetId}`), errorNotice(error));
    return;
  }
  if (!isCurrent()) return;
  let head = header(app, asset);
  // after a transaction: the figures in the header again (the indexer needs a moment)
  const refreshHead = () =>
    setTimeout(async () => {
      try {
        const fresh = await app.api.asset(assetId);
        if (!isCurrent()) return;
        const next = header(app, fresh);
        head.replaceWith(next);
        head = next;
      } catch {
        // keep the figures we have
      }
    }, 1500);
  replace(
    root,
    head,
    offersSection(app, asset, refreshHead),
    ownerSection(app, asset, () => showOwnerChange(context, asset, () => renderAsset(context))),
    downloadSection(app, asset),
    computePolicySection(app, asset, isCurrent),
    curationSection(app, asset, isCurrent, refreshHead),
    versionsSection(asset),
    metadataSection(asset),
  );
}

function header(app: App, asset: AssetDetail): HTMLElement {
  return h("section", { class: "asset-head", testid: "asset-head" },
    h("h1", { testid: "asset-title" }, asset.title || `Asset ${asset.asset_id}`),
    h("p", { class: "meta" },
      h("span", { class: `kind kind-${asset.kind}` }, asset.kind),
      ` · asset #${asset.asset_id} · ${formatBytes(asset.size)} · owner `,
      h("code", { title: asset.owner }, shortAddress(asset.owner)),
      asset.dao ? ` · DataDAO ${shortAddress(asset.dao)}` : ""),
    asset.description ? h("p", {}, asset.description) : null,
    asset.tags.length ? h("p", { class: "tags" }, asset.tags.map((tag) => h("span", { class: "tag" }, tag))) : null,
    asset.retired ? notice("unavailable", "This asset is retired: licenses already sold stay valid, nothing new is sold.") : null,
    h("dl", { class: "stats", testid: "asset-stats" },
      h("dt", {}, "sales"), h("dd", { testid: "stat-sales" }, String(asset.stats.sales)),
      h("dt", {}, "downloads"), h("dd", {}, String(asset.stats.downloads)),
      h("dt", {}, "curators"), h("dd", { testid: "stat-stakers" }, String(asset.stakers)),
      h("dt", {}, "staked"), h("dd", { testid: "stat-staked" }, stakedText(app, asset)),
      h("dt", {}, "curators' share"), h("dd", { testid: "stat-curator-share" }, curatorShareText(asset)),
      h("dt", {}, "revenue"), h("dd", {}, asset.stats.revenue.length
        ? asset.stats.revenue.map((r) => offerPriceText({ price: r.amount, token: r.token })).join(", ")
        : "none yet")),
  );
}

function stakedText(app: App, asset: AssetDetail): string {
  const amount = (value: bigint) => (app.stakingToken ? formatTokenAmount(value, app.stakingToken) : `${value} base units`);
  const total = BigInt(asset.total_staked);
  const warming = BigInt(asset.warming_staked ?? "0");
  const earning = total === 0n ? "nothing earning" : `${amount(total)} earning`;
  return warming === 0n ? (total === 0n ? "nothing" : amount(total)) : `${earning}, ${amount(warming)} warming up`;
}

function curatorShareText(asset: AssetDetail): string {
  const now = `${(asset.curator_share_bps / 100).toFixed(2).replace(/\.?0+$/, "")} %`;
  const cut = asset.pending_curator_share;
  if (!cut) return now;
  const next = `${(cut.curator_share_bps / 100).toFixed(2).replace(/\.?0+$/, "")} %`;
  return `${now}, ${next} from ${formatDate(cut.effective_at)}`;
}

function offersSection(app: App, asset: AssetDetail, rerender: () => void): HTMLElement {
  const section = h("section", { class: "offers", testid: "offers" }, h("h2", {}, "Licenses on offer"));
  if (asset.offers.length === 0) section.append(notice("empty", "No offers."));
  for (const offer of asset.offers) section.append(offerRow(app, asset, offer, rerender));
  return section;
}

function offerRow(app: App, asset: AssetDetail, offer: Offer, rerender: () => void): HTMLElement {
  const status = txLine();
  const shown = Object.freeze({ offer_id: offer.offer_id, token: offer.token, price: offer.price, duration: offer.duration, scope: offer.scope });
  const buy = (method: BuyMethod) => async () => {
    try {
      const market = new Market(app.chain());
      // the terms this row shows, as they were when the page read them: the purchase commits
      // to them, so an offer changed meanwhile is refused on chain instead of bought
      const result = await market.buy(BigInt(asset.asset_id), shown, method, status.update);
      if (result.phase === "confirmed") rerender();
    } catch (error) {
      status.element.dataset.phase = "failed";
      status.element.textContent = errorText(error);
    }
  };
  const canBuy = offer.active && !asset.retired;
  const actions = canBuy
    ? h("p", { class: "actions" },
        button("Buy (permit, one transaction)", buy("permit"), { testid: "buy-permit" }),
        button("Approve + buy", buy("approve"), { testid: "buy-approve", class: "secondary" }),
        addToCartButton({ asset_id: asset.asset_id, title: asset.title, ...shown }, offer.active, asset.retired, (text, failed) => {
          status.element.dataset.phase = failed ? "failed" : "cart";
          status.element.textContent = text;
        }))
    : null;
  const row = h("div", { class: "offer", testid: "offer", "data-offer": offer.offer_id },
    h("p", {},
      h("strong", { testid: "offer-price" }, offerPriceText(offer)),
      ` — ${offerTermsText(offer, formatDuration)}`,
      offer.active ? "" : " (paused)"),
    actions,
    status.element,
  );
  void showTokenOffer(app, asset, offer, row, actions, status, rerender);
  return row;
}

function downloadSection(app: App, asset: AssetDetail): HTMLElement {
  const section = h("section", { class: "download", testid: "download" }, h("h2", {}, "Download"));
  if (!app.account) {
    section.append(notice("info", "Connect your wallet, buy a download license and sign in to download."));
    return section;
  }
  if (!app.session) {
    section.append(notice("info", "Sign in with your wallet (button at the top) to download with your license."));
    return section;
  }
  const bar = progressBar();
  const result = h("p", { class: "result", testid: "download-result" });
  const start = async () => {
    result.textContent = "";
    result.removeAttribute("role");
    bar.set(0, null, "checking the chain…");
    try {
      const started = performance.now();
      const expected = await expectedContent(app, asset.asset_id);
      const download = await downloadWithResume({
        url: app.api.contentUrl(asset.asset_id, expected.version),
        fetch: (input, init) => fetch(input, init),
        headers: app.api.authHeaders(),
        onProgress: ({ received, total }) =>
          bar.set(received, total, `${formatBytes(received)}${total ? ` of ${formatBytes(total)} (${formatPercent(received, total)})` : ""}`),
      });
      const blob = new Blob(download.chunks as BlobPart[], { type: download.contentType ?? "application/octet-stream" });
      download.chunks = [];
      const problem = await contentProblem(blob, expected.declared);
      if (problem) {
        throw new ContentMismatchError(`the gateway sent asset ${asset.asset_id} v${expected.version} that is not what the chain names: ${problem}; nothing was saved`);
      }
      const [only] = expected.declared.files;
      const digest = expected.declared.files.length === 1 && only!.size === blob.size ? only!.sha256 : await sha256Of(await blob.arrayBuffer());
      const seconds = (performance.now() - started) / 1000;
      const name = download.filename ?? `asset-${asset.asset_id}.bin`;
      saveBlob(blob, name);
      replace(result,
        `Saved ${name}: ${formatBytes(download.bytes)} in ${seconds.toFixed(1)} s, checked against the chain (v${expected.version}). SHA-256 `,
        h("code", { testid: "download-sha256" }, digest));
    } catch (error) {
      bar.set(0, null, "");
      result.textContent = errorText(error);
      result.setAttribute("role", "alert");
    }
  };
  section.append(
    h("p", {}, `Latest version (v${asset.version_count}), decrypted by the gateway for licensees.`),
    button("Download", start, { testid: "download-button" }),
    bar.element,
    result,
  );
  return section;
}

/** The latest version the registry names and what its metadata (checked against the CID the
 *  registry stores, the bytes from the gateway) declares the content to be. */
async function expectedContent(app: App, assetId: number): Promise<{ version: number; declared: DeclaredContent }> {
  const chain = app.chain();
  const registry = chain.contract("AssetRegistry");
  const read = (functionName: string, args: readonly unknown[]) =>
    chain.publicClient.readContract({ address: registry.address, abi: registry.abi, functionName, args } as never) as Promise<unknown>;
  const info = (await read("assetInfo", [BigInt(assetId)])) as { versionCount: number | bigint };
  const version = Number(info.versionCount);
  const record = (await read("version", [BigInt(assetId), BigInt(version)])) as { metadata: { digest: string; codec: number | bigint } };
  const data = await app.api.versionMetadata(assetId, version);
  const declared = await checkedMetadata(data, { digest: record.metadata.digest, codec: Number(record.metadata.codec) }, `asset ${assetId} v${version}`);
  return { version, declared };
}

function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, style: "display:none" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function curationSection(app: App, asset: AssetDetail, isCurrent: () => boolean, rerender: () => void): HTMLElement {
  const section = h("section", { class: "curation", testid: "curation" }, h("h2", {}, "Curation"),
    h("p", { class: "muted" }, "Curators stake on assets they vouch for and earn a share of every sale. A new stake warms up for one unbonding delay before it earns; unstaked tokens unbond before they can be withdrawn."));
  const account = app.account as Address | null;
  if (!account) {
    section.append(notice("info", "Connect your wallet to stake on this asset."));
    return section;
  }
  const mine = h("div", { testid: "my-stake" }, "Reading your stake…");
  const amount = h("input", { name: "stake-amount", value: "5", inputmode: "decimal", "aria-label": "amount", testid: "stake-amount" });
  const status = txLine();
  section.append(mine, h("p", { class: "actions" }, amount), status.element);
  let market: Market;
  try {
    market = new Market(app.chain());
  } catch (error) {
    replace(mine, errorNotice(error));
    return section;
  }
  const assetId = BigInt(asset.asset_id);
  let token: Awaited<ReturnType<Market["stakingToken"]>> | null = null;
  const amountValue = () => parseAmount(amount.value, token?.decimals ?? 18);
  const load = async () => {
    try {
      token = await market.stakingToken();
      const staking = token;
      const tokens = await market.paymentTokens();
      const [stake, warming, earned] = await Promise.all([
        market.stakeOf(assetId, account),
        market.warmingStake(assetId, account),
        Promise.all(tokens.map(async (t) => [t, await market.earned(assetId, account, t)] as const)),
      ]);
      if (!isCurrent()) return;
      // the time the next transaction will see (a dev chain moved forward runs ahead of the
      // browser): whether a warm-up or an unbonding has ended is the chain's answer
      const now = await market.chain.transactionTime();
      if (!isCurrent()) return;
      const earnedText = earned.filter(([, value]) => value > 0n).map(([t, value]) => formatTokenAmount(value, t)).join(", ") || "nothing yet";
      replace(mine,
        h("dl", { class: "stats" },
          h("dt", {}, "your stake"), h("dd", { testid: "stake-active" }, formatTokenAmount(stake.active, staking)),
          h("dt", {}, "warming up"), h("dd", { testid: "stake-warming" }, warming.amount > 0n
            ? `${formatTokenAmount(warming.amount, staking)}, earns ${warming.activeAt <= now ? "once activated" : `from ${formatDate(new Date(Number(warming.activeAt) * 1000).toISOString())}`}`
            : "nothing"),
          h("dt", {}, "unbonding"), h("dd", { testid: "stake-unbonding" }, stake.unbonding > 0n
            ? `${formatTokenAmount(stake.unbonding, staking)}, withdrawable ${stake.availableAt <= now ? "now" : `from ${formatDate(new Date(Number(stake.availableAt) * 1000).toISOString())}`}`
            : "nothing"),
          h("dt", {}, "rewards"), h("dd", { testid: "stake-earned" }, earnedText)),
      );
      symbol.textContent = ` ${staking.symbol} `;
      activate.hidden = !(warming.amount > 0n && warming.activeAt <= now);
    } catch (error) {
      if (isCurrent()) replace(mine, notice(explainError(error).kind === "not-deployed" ? "unavailable" : "error", errorText(error)));
    }
  };
  const act = (run: () => Promise<{ phase: string }>) => async () => {
    try {
      const result = await run();
      if (result.phase === "confirmed") {
        await load();
        rerender();
      }
    } catch (error) {
      status.element.dataset.phase = "failed";
      status.element.textContent = errorText(error);
    }
  };
  const symbol = h("span", {}, " ");
  const activate = button("Start earning", act(() => market.activateStake(assetId, account, status.update)), { testid: "activate-stake", class: "secondary" });
  activate.hidden = true;
  section.querySelector(".actions")!.append(
    symbol,
    button("Stake", act(() => market.stake(assetId, amountValue(), status.update)), { testid: "stake" }),
    activate,
    button("Request unstake", act(() => market.requestUnstake(assetId, amountValue(), status.update)), { testid: "unstake", class: "secondary" }),
    button("Withdraw stake", act(() => market.withdrawStake(assetId, status.update)), { testid: "withdraw-stake", class: "secondary" }),
    button("Claim rewards", act(() => market.claim(assetId, status.update)), { testid: "claim", class: "secondary" }),
    button("Refresh", load, { class: "secondary", testid: "stake-refresh" }),
  );
  void load();
  return section;
}

/** A dataset's compute policy from the catalog; its owner lists and removes algorithms here. */
function computePolicySection(app: App, asset: AssetDetail, isCurrent: () => boolean, status = txLine()): HTMLElement | null {
  const policy = asset.compute_policy;
  if (asset.kind !== "dataset" || !policy) return null;
  const datasetId = BigInt(asset.asset_id);
  const isOwner = !!app.account && app.account.toLowerCase() === asset.owner.toLowerCase();
  const act = (run: (market: Market) => Promise<{ phase: string }>) => async () => {
    try {
      if ((await run(new Market(app.chain()))).phase === "confirmed") await showChange();
    } catch (error) {
      status.element.dataset.phase = "failed";
      status.element.textContent = errorText(error);
    }
  };
  // the catalog follows the chain: wait (up to 30 s) for the indexer to have the change
  const showChange = async () => {
    const before = JSON.stringify(policy);
    for (let tries = 0; tries < 60 && isCurrent(); tries++) {
      await new Promise((done) => setTimeout(done, 500));
      const fresh = await app.api.asset(datasetId).catch(() => null);
      if (fresh && JSON.stringify(fresh.compute_policy) !== before) {
        if (isCurrent()) section.replaceWith(computePolicySection(app, fresh, isCurrent, status) ?? "");
        return;
      }
    }
  };
  const rows = policy.trusted_algorithms.map(({ algorithm_id: id, version }) => {
    const link = h("a", { href: `#/asset/${id}`, testid: "trusted-algorithm-link" }, `algorithm #${id}`);
    // its title from the catalog, when it answers
    app.api.asset(id).then((algorithm) => { if (algorithm.title) link.textContent = `${algorithm.title} (#${id})`; }, () => undefined);
    return h("li", { testid: "trusted-algorithm", "data-algorithm": String(id), "data-version": String(version) },
      link, ` — ${pinText(version)} · `,
      h("a", { href: `#/compute?dataset=${asset.asset_id}&algorithm=${id}`, testid: "run-algorithm" }, "run a job"),
      isOwner ? h("span", {}, " ", button("Remove", act((market) => market.untrustAlgorithm(datasetId, BigInt(id), status.update)), { testid: "untrust-algorithm", class: "secondary" })) : null);
  });
  const section = h("section", { class: "compute-policy", testid: "compute-policy" }, h("h2", {}, "Compute policy"),
    h("p", { testid: "policy-summary", "data-any": String(policy.any_algorithm) }, `Compute jobs: ${policyText(policy)}.`),
    h("dl", { class: "stats" },
      h("dt", {}, "result cap"), h("dd", { testid: "policy-result-cap" }, resultCapText(policy))),
    rows.length ? h("ul", { testid: "trusted-algorithms" }, rows) : null,
    asset.dao && !isOwner
      ? h("p", { class: "muted", testid: "policy-dao" }, "This DataDAO lists algorithms by vote: a member proposes the registry's trustAlgorithm(dataset, algorithm, version) on the DAO's page.")
      : null);
  if (isOwner) {
    const algorithm = h("input", { name: "trust-algorithm", inputmode: "numeric", placeholder: "asset id", "aria-label": "algorithm asset id", testid: "trust-algorithm-id" });
    const version = h("input", { name: "trust-version", inputmode: "numeric", value: "0", size: 4, "aria-label": "version (0 = latest)", testid: "trust-algorithm-version" });
    const list = () => {
      if (!/^\d+$/.test(algorithm.value.trim()) || !/^\d+$/.test(version.value.trim())) {
        status.element.dataset.phase = "failed";
        status.element.textContent = "Enter the algorithm's asset id and a version number (0 = its latest).";
        return Promise.resolve();
      }
      return act((market) => market.trustAlgorithm(datasetId, BigInt(algorithm.value.trim()), Number(version.value.trim()), status.update))();
    };
    section.append(h("p", { class: "actions" }, field("algorithm asset id", algorithm), field("version (0 = latest)", version),
      button("List algorithm", list, { testid: "trust-algorithm" })));
  }
  section.append(status.element);
  return section;
}

function versionsSection(asset: AssetDetail): HTMLElement {
  return h("section", { class: "versions", testid: "versions" }, h("h2", {}, "Versions"),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "version"), h("th", {}, "content CID"), h("th", {}, "metadata CID"), h("th", {}, "block"))),
      h("tbody", {}, [...asset.versions].reverse().map((v) =>
        h("tr", {}, h("td", {}, `v${v.index}`), h("td", {}, h("code", {}, v.content_cid)), h("td", {}, h("code", {}, v.metadata_cid)), h("td", {}, String(v.block)))))));
}

function metadataSection(asset: AssetDetail): HTMLElement {
  const meta = asset.metadata ?? {};
  const files = Array.isArray(meta.files) ? (meta.files as { path: string; size: number; sha256: string }[]) : [];
  const license = typeof meta.license === "string" ? meta.license : null;
  return h("section", { class: "metadata", testid: "metadata" }, h("h2", {}, "Metadata"),
    asset.metadata === null ? notice("info", "The metadata document has not been read from IPFS yet.") : null,
    license ? h("div", {}, h("h3", {}, "License"), h("p", { class: "license", testid: "license-text" }, license)) : null,
    typeof meta.created_at === "string" ? h("p", { class: "muted" }, `created ${formatDate(meta.created_at)}`) : null,
    files.length
      ? h("table", { testid: "files" },
          h("thead", {}, h("tr", {}, h("th", {}, "file"), h("th", {}, "size"), h("th", {}, "sha256"))),
          h("tbody", {}, files.slice(0, 200).map((f) =>
            h("tr", {}, h("td", {}, f.path), h("td", {}, formatBytes(f.size)), h("td", {}, h("code", { title: f.sha256 }, `${f.sha256.slice(0, 16)}…`))))))
      : null,
    files.length > 200 ? h("p", { class: "muted" }, `…and ${files.length - 200} more files`) : null,
  );
}
