// A compute job's buyer disputes a posted result and expires a job its provider never took
// (issue 18), on the compute page against the real stack. A second provider is registered on
// the market (a dev account, no gateway behind it: it never accepts); the buyer starts a job at
// it with a one-hour deadline and a job at the gateway's provider. The gateway runs its job and
// posts the result: the buyer disputes it (the bond approved, then taken: getJob says
// Disputed). The dev chain's clock passes the first job's deadline: the buyer expires it
// (getJob says Refunded), the escrow is credited to the buyer in the market and withdrawn to
// the buyer's token balance.
import { join } from "node:path";
import { encodeFunctionData, erc20Abi, getAddress, parseAbi } from "viem";
import { abiOf, chainReader, deployedContracts } from "./chainread.mjs";

const REGISTER = parseAbi(["function registerProvider(string endpoint, address priceToken, uint96 price, uint96 stake)"]);
const DISPUTED = 4;
const REFUNDED = 6;
const TOKEN = 10n ** 18n;

export async function jobActionsFlow({ page, env, byId, txDoneNamed, clearTx, check, step, rpc, advance, sendAs, datasetId, docsImg }) {
  const { compute } = env;
  const contracts = await deployedContracts(env.gateway);
  const market = contracts.ComputeMarket.address;
  const marketAbi = abiOf("ComputeMarket");
  const { view, balanceOf } = chainReader(rpc, env.rpc);
  const getJob = (id) => view(market, marketAbi, "getJob", [BigInt(id)]);
  const token = await view(market, marketAbi, "stakeToken");
  const main = page.locator("main");
  const jobRow = (id) => page.locator(`[data-testid="job"][data-job="${id}"]`);
  const jobIn = (id, status) => page.waitForFunction(([job, wanted]) =>
    document.querySelector(`[data-testid="job"][data-job="${job}"]`)?.dataset.status === wanted, [String(id), status]);

  step("compute (dispute, expire): a second provider registers; the buyer starts a one-hour job there and one at the gateway's provider");
  // a dev account with DDT and no gateway: registered, it never accepts a job
  const idle = getAddress((await rpc(env.rpc, "eth_accounts")).result[7]);
  const stake = 100n * TOKEN; // the dev deployment's minProviderStake
  await sendAs(env.rpc, idle, token, encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [market, stake] }));
  await sendAs(env.rpc, idle, market, encodeFunctionData({ abi: REGISTER, functionName: "registerProvider", args: ["http://127.0.0.1:9", token, 2n * TOKEN, stake] }));
  const start = async (provider, hours) => {
    await clearTx(byId("compute-new"));
    await page.fill('input[name="provider"]', provider);
    await page.fill('input[name="hours"]', hours);
    await byId("compute-start").click();
    await txDoneNamed(byId("compute-new"), "Start the compute job");
    const id = String(await view(market, marketAbi, "jobCount"));
    await jobRow(id).waitFor();
    return id;
  };
  await page.goto(`${env.gateway}/#/compute?dataset=${datasetId}&algorithm=${compute.algorithm.id}`);
  await byId("compute-start").waitFor();
  const idleJob = await start(idle, "1");
  check((await jobRow(idleJob).getAttribute("data-status")) === "open", `job #${idleJob} at the idle provider: ${await jobRow(idleJob).getAttribute("data-status")}`);
  const runJob = await start(compute.provider, "24");

  step("compute (dispute): the provider posts the result; the buyer disputes it, the bond taken");
  await page.waitForFunction((id) => {
    const row = document.querySelector(`[data-testid="job"][data-job="${id}"]`);
    return ["submitted", "failed", "refunded"].includes(row?.dataset.status) && row.querySelector('[data-testid="dispute-job"]');
  }, runJob, { timeout: 120_000 });
  const posted = await getJob(runJob);
  const { disputeBondBps } = await view(market, marketAbi, "paramsAt", [posted.paramsId]);
  const bond = ((posted.providerFee + posted.dataFee) * BigInt(disputeBondBps)) / 10_000n;
  check(bond > 0n, "the dev market takes a dispute bond");
  const beforeDispute = await balanceOf(posted.token, env.buyer);
  await clearTx(main);
  await jobRow(runJob).locator('[data-testid="dispute-job"]').click();
  await txDoneNamed(main, `Dispute job #${runJob}`);
  await jobIn(runJob, "disputed");
  check((await jobRow(runJob).locator('[data-testid="job-status"]').textContent()) === "disputed — waiting for the arbiter", "the disputed job in words");
  check((await jobRow(runJob).locator('[data-testid="dispute-job"], [data-testid="finalize"]').count()) === 0, "no second dispute, no finalize");
  check((await getJob(runJob)).status === DISPUTED, `getJob(${runJob}).status is Disputed`);
  check(beforeDispute - (await balanceOf(posted.token, env.buyer)) === bond, `the bond (${bond}) left the buyer's balance`);

  step("compute (expire): the deadline passes without the provider; the buyer expires the job and withdraws the escrow");
  const waiting = await getJob(idleJob);
  const now = BigInt((await rpc(env.rpc, "eth_getBlockByNumber", ["latest", false])).result.timestamp);
  check((await jobRow(idleJob).locator('[data-testid="expire-job"]').count()) === 0, "no expire before the deadline");
  await advance(env.rpc, Number(waiting.deadline - now) + 60);
  await clearTx(main);
  await byId("jobs-refresh").click();
  await jobIn(idleJob, "expired");
  check((await jobRow(idleJob).locator('[data-testid="job-status"]').textContent()) === "deadline passed, never accepted — expire it: your escrow is credited back", "the expired job in words");
  await jobRow(idleJob).locator('[data-testid="expire-job"]').click();
  await txDoneNamed(main, `Expire job #${idleJob}`);
  await jobIn(idleJob, "refunded");
  check((await getJob(idleJob)).status === REFUNDED, `getJob(${idleJob}).status is Refunded`);
  const escrow = waiting.providerFee + waiting.dataFee;
  check((await view(market, marketAbi, "claimable", [env.buyer, waiting.token])) === escrow, `the escrow (${escrow}) is credited to the buyer`);
  const credit = byId("credit").and(page.locator(`[data-token="${getAddress(waiting.token)}"]`));
  check((await credit.textContent()).startsWith("2 DDT"), `credit shown: ${await credit.textContent()}`);
  await byId("compute-jobs").screenshot({ path: join(docsImg, "dapp-job-actions.png") });
  const beforeWithdraw = await balanceOf(waiting.token, env.buyer);
  await clearTx(main);
  await credit.locator('[data-testid="withdraw-credit"]').click();
  await txDoneNamed(main, "Withdraw 2 DDT");
  await byId("compute-credits").waitFor({ state: "detached" });
  check((await balanceOf(waiting.token, env.buyer)) - beforeWithdraw === escrow, "the escrow is back in the buyer's token balance");
  check((await view(market, marketAbi, "claimable", [env.buyer, waiting.token])) === 0n, "nothing left credited");
}
