// A payment channel's buyer extends it, then reclaims it once expired (issue 18), on the Model
// calls page against the real stack, after channels.mjs opened, used and topped up the
// channel: extend by a day (getChannel's expiry one day later, the row says so); the dev
// chain's clock passes the new expiry; reclaim (the deposit the provider did not redeem goes
// back to the buyer's token balance, getChannel keeps only what was redeemed).
import { abiOf, chainReader, deployedContracts } from "./chainread.mjs";

const DAY = 24n * 3600n;

export async function channelSettleFlow({ page, env, byId, txDoneNamed, clearTx, check, step, rpc, advance }) {
  const market = (await deployedContracts(env.gateway)).ComputeMarket.address;
  const marketAbi = abiOf("ComputeMarket");
  const { view, balanceOf } = chainReader(rpc, env.rpc);
  const main = page.locator("main");
  const row = byId("channel").first();
  const channelId = await row.getAttribute("data-channel");
  const getChannel = () => view(market, marketAbi, "getChannel", [BigInt(channelId)]);

  step("channels: extend the channel by a day");
  const opened = await getChannel();
  check((await row.getAttribute("data-expiry")) === String(opened.expiry), "the row shows the channel's expiry on chain");
  const stateBefore = await row.locator('[data-testid="channel-state"]').textContent();
  await clearTx(main);
  await row.locator('[data-testid="extend-hours"]').fill("24");
  await row.locator('[data-testid="extend"]').click();
  await txDoneNamed(main, `Extend channel #${channelId}`);
  const extended = await getChannel();
  check(extended.expiry === opened.expiry + DAY, `expiry on chain ${extended.expiry}, wanted ${opened.expiry + DAY}`);
  await page.waitForFunction(([id, wanted]) => document.querySelector(`[data-testid="channel"][data-channel="${id}"]`)?.dataset.expiry === wanted,
    [channelId, String(extended.expiry)]);
  const stateAfter = await row.locator('[data-testid="channel-state"]').textContent();
  check(stateAfter.startsWith("open until ") && stateAfter !== stateBefore, `state: ${stateBefore} → ${stateAfter}`);

  step("channels: the channel expires; reclaim returns what was not redeemed to the buyer's balance");
  const now = BigInt((await rpc(env.rpc, "eth_getBlockByNumber", ["latest", false])).result.timestamp);
  check((await row.locator('[data-testid="reclaim"]').count()) === 0, "no reclaim before the expiry");
  await advance(env.rpc, Number(extended.expiry - now) + 60);
  await page.goto(`${env.gateway}/#/licenses`); // away and back: the page reads the channels anew
  await page.goto(`${env.gateway}/#/channels`);
  const expired = byId("channel").and(page.locator(`[data-channel="${channelId}"]`));
  await expired.locator('[data-testid="reclaim"]').waitFor();
  check((await expired.locator('[data-testid="channel-state"]').textContent()) === "expired — reclaim what was not redeemed", "the expired channel in words");
  check((await expired.locator('[data-testid="extend"], [data-testid="top-up"]').count()) === 0, "no top-up or extend once expired");
  const balanceBefore = await balanceOf(extended.token, env.buyer);
  await clearTx(main);
  await expired.locator('[data-testid="reclaim"]').click();
  await txDoneNamed(main, `Reclaim channel #${channelId}`);
  const settled = await getChannel();
  const returned = (await balanceOf(extended.token, env.buyer)) - balanceBefore;
  // the provider may have redeemed part of it meanwhile: the rest, exactly, came back
  check(returned > 0n && returned === extended.deposit - settled.redeemed, `reclaimed ${returned} of a deposit of ${extended.deposit} (${settled.redeemed} redeemed)`);
  check(settled.deposit === settled.redeemed, "getChannel keeps only what was redeemed");
  await page.waitForFunction(([id, wanted]) => document.querySelector(`[data-testid="channel"][data-channel="${id}"]`)?.dataset.deposit === wanted,
    [channelId, String(settled.deposit)]);
  check((await expired.locator('[data-testid="channel-state"]').textContent()) === "expired, settled", "the settled channel in words");
  check((await expired.locator('[data-testid="reclaim"]').count()) === 0, "nothing left to reclaim");
}
