// Owner tools, the rest (issue 18), after owner.mjs paused an offer: the paused offer is
// inactive on chain and in the catalog; the publisher resumes it (active again on chain and in
// the catalog, on sale on the page); retiring asks for the tick first (nothing sent), then
// retires the second demo asset (retired on chain and in the catalog, the page and the catalog
// say so, nothing is sold, the owner tools are gone and the catalog no longer lists it).
import { abiOf, chainReader, deployedContracts } from "./chainread.mjs";

export async function ownerStateFlow({ page, env, byId, txDoneNamed, check, step, rpc }) {
  const [asset, second] = env.assets;
  const registry = (await deployedContracts(env.gateway)).AssetRegistry.address;
  const registryAbi = abiOf("AssetRegistry");
  const { view } = chainReader(rpc, env.rpc);
  const catalog = async (id) => (await fetch(`${env.gateway}/v1/assets/${id}`)).json();
  /** The catalog follows the chain (the indexer): wait until `ready(detail)`. */
  const catalogShows = async (id, ready, what) => {
    for (let tries = 0; ; tries++) {
      const detail = await catalog(id);
      if (ready(detail)) return detail;
      check(tries < 100, `the catalog shows ${what} within 20 s`);
      await new Promise((done) => setTimeout(done, 200));
    }
  };
  const short = `${env.publisher.slice(0, 6)}…${env.publisher.slice(-4)}`;

  step("owner tools: the paused offer is inactive on chain; the publisher resumes it");
  await page.evaluate((account) => window.__e2eWallet.setAccount(account), env.publisher);
  await page.waitForFunction((text) => document.querySelector('[data-testid="account"]')?.textContent === text, short);
  await page.goto(`${env.gateway}/#/asset/${asset.id}`);
  const paused = byId("owner-offer").and(page.locator('[data-active="false"]'));
  await paused.waitFor();
  const offerId = Number(await paused.getAttribute("data-offer"));
  check(!(await view(registry, registryAbi, "offer", [BigInt(asset.id), BigInt(offerId)])).active, `offer #${offerId} inactive on chain`);
  check((await catalog(asset.id)).offers.find((o) => o.offer_id === offerId)?.active === false, "inactive in the catalog");
  check((await byId("offers").locator(`[data-offer="${offerId}"] [data-testid="buy-permit"]`).count()) === 0, "not sold while paused");
  await paused.locator('[data-testid="owner-resume"]').click();
  await txDoneNamed(byId("owner-tools"), `Resume offer #${offerId} of asset #${asset.id}`);
  check((await view(registry, registryAbi, "offer", [BigInt(asset.id), BigInt(offerId)])).active, `offer #${offerId} active on chain`);
  await page.locator(`[data-testid="owner-offer"][data-offer="${offerId}"][data-active="true"]`).waitFor(); // the page again once the catalog has it
  check((await catalog(asset.id)).offers.find((o) => o.offer_id === offerId)?.active === true, "active in the catalog");
  const resumed = byId("offers").locator(`[data-offer="${offerId}"]`);
  check(!(await resumed.textContent()).includes("(paused)") && (await resumed.locator('[data-testid="buy-permit"]').count()) === 1, "on sale again");

  step("owner tools: retire an asset (the tick first), then it is retired on chain, in the catalog and on its page");
  await page.goto(`${env.gateway}/#/asset/${second.id}`);
  const tools = byId("owner-tools");
  await tools.waitFor();
  const sent = () => page.evaluate(() => window.__e2eWallet.state.requests.filter((m) => m === "eth_sendTransaction").length);
  const sentBefore = await sent();
  await byId("owner-retire-button").click();
  const unticked = tools.locator('[data-testid="tx-status"][data-phase="failed"]');
  check((await unticked.textContent()) === "Tick the box to confirm: retiring cannot be undone.", `unticked: ${await unticked.textContent()}`);
  check((await sent()) === sentBefore && !(await view(registry, registryAbi, "assetInfo", [BigInt(second.id)])).retired, "nothing sent without the tick");
  await byId("retire-confirm").check();
  await byId("owner-retire-button").click();
  await txDoneNamed(tools, `Retire asset #${second.id}`);
  check((await view(registry, registryAbi, "assetInfo", [BigInt(second.id)])).retired, `asset #${second.id} retired on chain`);
  await catalogShows(second.id, (detail) => detail.retired === true, `asset #${second.id} retired`);
  await page.getByText("This asset is retired: licenses already sold stay valid, nothing new is sold.").waitFor(); // the page again
  check((await byId("owner-tools").count()) === 0, "no owner tools on a retired asset");
  check((await byId("offers").locator('[data-testid="buy-permit"], [data-testid="buy-approve"]').count()) === 0, "nothing sold");
  // the catalog lists what is for sale: a retired asset only when asked for
  const listed = await (await fetch(`${env.gateway}/v1/assets?q=${encodeURIComponent(second.title)}&include_retired=true`)).json();
  check(listed.items.some((a) => a.asset_id === Number(second.id) && a.retired), "listed as retired with include_retired");
  await page.goto(`${env.gateway}/#/?q=${encodeURIComponent(second.title)}`);
  await page.waitForFunction(() => document.querySelector('[data-testid="asset-card"], [data-testid="notice-empty"]'));
  check((await byId("asset-card").filter({ hasText: second.title }).count()) === 0, "no longer in the catalog");
}
