// Licence tokens (issue 19): the publisher switches an on-sale offer of the first demo asset to
// transferable licence tokens (tokenOffer on chain); the buyer buys one from the asset page
// (balanceOf = 1 on chain); on My licenses the token is listed, a transfer to a malformed
// address is refused in one line before the wallet opens (nothing sent), a transfer to another
// dev account goes through (balanceOf 0 for the buyer, 1 for the new holder), the buyer's list
// drops it and the new holder's lists it.
import { getAddress } from "viem";
import { abiOf, chainReader, deployedContracts } from "./chainread.mjs";

export async function licenceTokensFlow({ page, env, byId, txDoneNamed, check, step, rpc }) {
  const [asset] = env.assets;
  const tokens = (await deployedContracts(env.gateway)).LicenseTokens.address;
  const abi = abiOf("LicenseTokens");
  const { view } = chainReader(rpc, env.rpc);
  const detail = await (await fetch(`${env.gateway}/v1/assets/${asset.id}`)).json();
  const offer = detail.offers.find((o) => o.active && o.scope === "download");
  check(offer, `asset #${asset.id} has an active download offer`);
  const recipient = getAddress((await rpc(env.rpc, "eth_accounts")).result[7]);
  const useAccount = async (account) => {
    await page.evaluate((a) => window.__e2eWallet.setAccount(a), account);
    const short = `${account.slice(0, 6)}…${account.slice(-4)}`;
    await page.waitForFunction((text) => document.querySelector('[data-testid="account"]')?.textContent === text, short);
  };
  const sent = () => page.evaluate(() => window.__e2eWallet.state.requests.filter((m) => m === "eth_sendTransaction").length);

  step("licence tokens: the publisher sells an offer as transferable licence tokens");
  await useAccount(env.publisher);
  await page.goto(`${env.gateway}/#/asset/${asset.id}`);
  const control = page.locator(`[data-testid="owner-tokens"][data-offer="${offer.offer_id}"]`);
  await page.waitForFunction((id) => document.querySelector(`[data-testid="owner-tokens"][data-offer="${id}"]`)?.dataset.mode === "off", offer.offer_id);
  await control.locator('[data-testid="owner-token-mode"]').selectOption("transferable");
  await control.locator('[data-testid="owner-token-save"]').click();
  await txDoneNamed(byId("owner-tools"), `Sell offer #${offer.offer_id} of asset #${asset.id} as transferable licence tokens`);
  const terms = await view(tokens, abi, "tokenOffer", [BigInt(asset.id), BigInt(offer.offer_id)]);
  check(terms.enabled && terms.transferable, `tokenOffer on chain: ${JSON.stringify(terms)}`);

  step("licence tokens: the buyer buys one on the asset page");
  await useAccount(env.buyer);
  await page.goto(`${env.gateway}/#/asset/${asset.id}`);
  const row = byId("offers").locator(`[data-offer="${offer.offer_id}"]`);
  await row.locator('[data-testid="buy-token"]').waitFor();
  check((await row.locator('[data-testid="offer-token"]').textContent()).includes("licence token you may transfer"), "the offer says it sells transferable tokens");
  await row.locator('[data-testid="buy-token"]').click();
  await txDoneNamed(row, "Buy the licence token");
  const id = await view(tokens, abi, "licenseId", [BigInt(asset.id), 0, true]);
  check((await view(tokens, abi, "balanceOf", [env.buyer, id])) === 1n, "the buyer holds the token on chain");

  step("licence tokens: My licenses lists it; a malformed address is refused before the wallet; then transfer it");
  await page.goto(`${env.gateway}/#/licenses`);
  const listed = page.locator(`[data-testid="licence-token"][data-token-id="${id}"]`);
  for (let tries = 0; (await listed.count()) === 0; tries++) { // the indexer follows the chain
    check(tries < 60, "the token is listed within 30 s");
    await new Promise((done) => setTimeout(done, 500));
    await page.goto(`${env.gateway}/#/licenses?try=${tries}`);
    await page.locator('[data-testid="licence-tokens"]').waitFor();
  }
  check((await listed.getAttribute("data-transferable")) === "true", "listed as transferable");
  const before = await sent();
  await listed.locator('[data-testid="licence-transfer-to"]').fill("0x1234");
  await listed.locator('[data-testid="licence-transfer"]').click();
  const refused = listed.locator('[data-testid="tx-status"][data-phase="failed"]');
  await refused.waitFor();
  check((await refused.textContent()).includes("must be an address"), `refused: ${await refused.textContent()}`);
  check((await sent()) === before, "nothing sent for a malformed address");
  await listed.locator('[data-testid="licence-transfer-to"]').fill(recipient);
  await listed.locator('[data-testid="licence-transfer"]').click();
  await txDoneNamed(listed, `Transfer your download licence token of asset #${asset.id}`);
  check((await view(tokens, abi, "balanceOf", [env.buyer, id])) === 0n, "the buyer no longer holds it on chain");
  check((await view(tokens, abi, "balanceOf", [recipient, id])) === 1n, "the new holder holds it on chain");
  await listed.waitFor({ state: "detached", timeout: 30_000 }); // the list again once the indexer has it
  check((await byId("licence-transfer-done").textContent()).includes("confirmed"), "the page says the transfer is confirmed");

  step("licence tokens: the new holder's My licenses lists it");
  await useAccount(recipient);
  await page.goto(`${env.gateway}/#/licenses`);
  await page.locator(`[data-testid="licence-token"][data-token-id="${id}"]`).waitFor();
  await useAccount(env.buyer);
}
