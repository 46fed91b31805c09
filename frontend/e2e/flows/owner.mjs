// Owner tools, the cart and DataDAO creation in the browser (issue 18), against the real stack.
// The publisher, on the first demo asset's page: add a COMPUTE offer, change its price, put it
// in this tab's cart, pause it; a bad licensee refused in one line; grant the buyer a license on
// the second asset (hasLicense true on chain), revoke it (false). The buyer: both demo assets in
// the cart, the purchase refused naming the paused offer, that item removed, both bought in one
// transaction (one hash, two LicensePurchased events, the licenses on chain); on the DataDAO's
// dataset the owner tools give the calldata to propose; a DataDAO created from its page, opened.
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { decodeFunctionData, decodeFunctionResult, encodeFunctionData, parseAbi, parseEventLogs } from "viem";

const REGISTRY_VIEWS = parseAbi([
  "function hasLicense(uint256 assetId, address account, uint8 scope) view returns (bool)",
  "event LicensePurchased(uint256 indexed assetId, uint32 indexed offerId, address indexed licensee, address buyer, uint8 scope, address token, uint256 price, uint64 expiresAt)",
]);

const OWNER_ABI = parseAbi(["function setOfferActive(uint256 assetId, uint256 offerId, bool active)"]);

export async function ownerFlow({ page, env, step, check, rpc, byId, txDoneNamed, clearTx, shot, output, docsImg }) {
  const [asset, second] = env.assets;
  const registry = (await (await fetch(`${env.gateway}/v1/deployment`)).json()).contracts.AssetRegistry.address;
  const hasLicense = async (assetId, account) => {
    const data = encodeFunctionData({ abi: REGISTRY_VIEWS, functionName: "hasLicense", args: [BigInt(assetId), account, 0] });
    const answer = await rpc(env.rpc, "eth_call", [{ to: registry, data }, "latest"]);
    return decodeFunctionResult({ abi: REGISTRY_VIEWS, functionName: "hasLicense", data: answer.result });
  };
  const short = (account) => `${account.slice(0, 6)}…${account.slice(-4)}`;
  const useAccount = async (account) => {
    await page.evaluate((a) => window.__e2eWallet.setAccount(a), account);
    await page.waitForFunction((s) => document.querySelector('[data-testid="account"]')?.textContent === s, short(account));
  };

  step("owner tools: the publisher adds an offer, changes its price, then pauses it");
  await useAccount(env.publisher);
  await page.goto(`${env.gateway}/#/asset/${asset.id}`);
  const tools = byId("owner-tools");
  await tools.waitFor();
  check((await page.locator('[data-testid="owner-tools"] [data-testid="tx-status"]').count()) === 1, "one transaction line in the owner tools");
  const before = await byId("owner-offer").count();
  const offerId = before + 1;
  await byId("new-offer-price").fill("3");
  await byId("new-offer-duration").fill("7d");
  await byId("new-offer-scope").selectOption("compute");
  await byId("owner-add-offer").click();
  await txDoneNamed(tools, `Add offer #${offerId} on asset #${asset.id}`);
  const added = page.locator(`[data-testid="owner-offer"][data-offer="${offerId}"]`);
  await added.and(page.locator('[data-active="true"]')).waitFor(); // the page again once the catalog has it
  check((await byId("offers").locator(`[data-offer="${offerId}"]`).textContent()).startsWith("3 DDT — compute license for 1 week"), "the new offer is on sale");
  check(!(await added.locator('[data-testid="owner-change-form"]').isVisible()), "the change form opens on demand");
  await added.locator('[data-testid="owner-change"]').click();
  await byId(`offer-${offerId}-price`).fill("4");
  await added.locator('[data-testid="owner-save-offer"]').click();
  await txDoneNamed(byId("owner-tools"), `Change offer #${offerId} on asset #${asset.id}`);
  await page.waitForFunction((id) => document.querySelector(`[data-testid="offers"] [data-offer="${id}"]`)?.textContent.startsWith("4 DDT"), offerId);
  await byId("owner-tools").screenshot({ path: join(docsImg, "dapp-owner-tools.png") });
  // in this tab's cart before the owner pauses it: the cart's purchase must then name it
  await byId("offers").locator(`[data-offer="${offerId}"] [data-testid="add-to-cart"]`).click();
  await byId("offers").getByText(/^Added to the cart/).waitFor();
  await added.locator('[data-testid="owner-pause"]').click();
  await txDoneNamed(byId("owner-tools"), `Pause offer #${offerId} of asset #${asset.id}`);
  await page.locator(`[data-testid="owner-offer"][data-offer="${offerId}"][data-active="false"]`).waitFor();
  const paused = byId("offers").locator(`[data-offer="${offerId}"]`);
  check((await paused.textContent()).includes("(paused)") && (await paused.locator('[data-testid="buy-permit"]').count()) === 0, "a paused offer is not sold");

  step("owner tools: a bad grant is refused in one line; grant the buyer a license, then revoke it");
  await page.goto(`${env.gateway}/#/asset/${second.id}`);
  const grantTools = byId("owner-tools");
  await byId("grant-licensee").fill("0x1234");
  await byId("owner-grant-button").click();
  const refused = await grantTools.locator('[data-testid="tx-status"][data-phase="failed"]').textContent();
  check(refused === 'The licensee must be an address (0x and 40 hex digits), not "0x1234".', `bad licensee: ${refused}`);
  check(!(await hasLicense(second.id, env.buyer)), "no license on the second asset before the grant");
  await clearTx(grantTools);
  await byId("grant-licensee").fill(env.buyer);
  await byId("grant-expiry").fill("30d");
  await byId("owner-grant-button").click();
  await txDoneNamed(grantTools, `Grant a download license on asset #${second.id}`);
  check(await hasLicense(second.id, env.buyer), "hasLicense after the grant");
  await clearTx(grantTools);
  await byId("owner-revoke").click();
  await txDoneNamed(grantTools, `Revoke the download grant on asset #${second.id}`);
  check(!(await hasLicense(second.id, env.buyer)), "no license after the revoke");

  step("cart: the buyer adds both demo assets; the paused offer in the cart is named and removed; both bought in one transaction");
  await useAccount(env.buyer);
  for (const { id } of [asset, second]) {
    await page.goto(`${env.gateway}/#/asset/${id}`);
    await byId("offers").locator('[data-testid="add-to-cart"]').first().click();
    await byId("offers").getByText(/^Added to the cart/).waitFor();
  }
  await page.goto(`${env.gateway}/#/cart`);
  await byId("cart-item").nth(1).waitFor();
  check((await byId("cart-item").count()) === 3, "three items in the cart");
  check((await byId("cart-total").textContent()) === "Total: 39 DDT", `total: ${await byId("cart-total").textContent()}`);
  await shot("cart");
  copyFileSync(join(output, "cart.png"), join(docsImg, "dapp-cart.png"));
  await byId("cart-buy").click();
  const refusal = await page.locator('main [data-testid="tx-status"][data-phase="failed"]').textContent();
  check(refusal === `Buy 3 licenses failed: The owner paused the offer of "${asset.title}" (asset #${asset.id}): remove it from the cart; nothing was bought.`, `refused order named: ${refusal}`);
  await byId("cart-item").and(page.locator(`[data-asset="${asset.id}"][data-offer="${offerId}"]`)).locator('[data-testid="cart-remove"]').click();
  check((await byId("cart-total").textContent()) === "Total: 35 DDT", `total: ${await byId("cart-total").textContent()}`);
  await clearTx(page.locator("main"));
  await byId("cart-buy").click();
  await txDoneNamed(page.locator("main"), "Buy 2 licenses");
  const bought = byId("cart-bought");
  await bought.waitFor();
  const hash = await bought.getAttribute("data-hash");
  const receipt = (await rpc(env.rpc, "eth_getTransactionReceipt", [hash])).result;
  const purchases = parseEventLogs({ abi: REGISTRY_VIEWS, eventName: "LicensePurchased", logs: receipt.logs });
  check(purchases.length === 2 && (await bought.getAttribute("data-count")) === "2", `${purchases.length} LicensePurchased events in ${hash}`);
  check(JSON.stringify(purchases.map((log) => Number(log.args.assetId))) === JSON.stringify([asset.id, second.id].map(Number)), "one purchase per cart item");
  check(await hasLicense(second.id, env.buyer), "the buyer holds the second asset's license");
  check((await page.evaluate(() => sessionStorage.getItem("datadao.cart.v1"))) === null && (await byId("cart-item").count()) === 0, "the cart is emptied once bought");

  step("owner tools on a DataDAO's asset: a member gets the call to propose, nothing is sent");
  const [daoAsset] = (await (await fetch(`${env.gateway}/v1/assets?dao=${env.dao.address}`)).json()).items;
  await page.goto(`${env.gateway}/#/asset/${daoAsset.asset_id}`);
  await byId("owner-tools").locator('[data-testid="owner-pause"]').first().click();
  const calldata = await byId("owner-proposal-calldata").inputValue();
  check((await byId("owner-proposal-target").textContent()).toLowerCase() === registry.toLowerCase(), "the registry is the target");
  const proposed = decodeFunctionData({ abi: OWNER_ABI, data: calldata });
  check(proposed.functionName === "setOfferActive" && JSON.stringify(proposed.args.map(String)) === JSON.stringify([String(daoAsset.asset_id), "1", "false"]), `calldata: ${proposed.functionName}(${proposed.args})`);
  check((await byId("owner-dao-link").getAttribute("href")).toLowerCase() === `#/dao?address=${env.dao.address}`.toLowerCase(), "links to the DAO's page");

  step("DataDAO: create one from its page, then open it");
  await page.goto(`${env.gateway}/#/dao`);
  await byId("dao-new-link").click();
  await byId("dao-new-name").fill("Ridge Cooperative");
  await byId("dao-new-symbol").fill("RIDGE");
  await byId("dao-new-members").fill(`${env.buyer} 70\n${env.publisher} 30`);
  await byId("dao-new-voting-delay").fill("1");
  await byId("dao-new-voting-period").fill("300");
  await byId("dao-new-execution-delay").fill("0");
  await byId("dao-new-create").click();
  await txDoneNamed(page.locator("main"), "Create the DataDAO Ridge Cooperative");
  const link = byId("dao-created-link");
  const address = await link.getAttribute("data-address");
  await link.click();
  await byId("dao-member").nth(1).waitFor();
  const members = await byId("dao-member").evaluateAll((rows) => rows.map((row) => [row.dataset.address, row.querySelector('[data-testid="member-shares"]').textContent]));
  check(JSON.stringify(members) === JSON.stringify([[env.buyer, "70 RIDGE"], [env.publisher, "30 RIDGE"]]), `members of ${address}: ${JSON.stringify(members)}`);
}
