// Metered model calls in the dApp (issue 18): buy the demo model's COMPUTE license, open a
// payment channel to the stack's provider, call the model twice (the running total shown),
// check at the gateway that the channel's accepted total is two prices, refuse a price above
// the user's maximum (nothing signed), and top the channel up.
export async function channelsFlow({ page, env, byId, txDone, txDoneNamed, clearTx, check, step, shot }) {
  const model = env.model;
  check(model, "the stack names the demo model (frontend/e2e/stack.py)");
  const price = BigInt(model.price);

  step("channels: buy the demo model's COMPUTE license");
  await page.goto(`${env.gateway}/#/asset/${model.id}`);
  const offers = byId("offers");
  await offers.locator('[data-testid="buy-permit"]').first().click();
  await txDone(offers);

  step("channels: pick the stack's provider and open a channel (approve + openChannel)");
  await page.goto(`${env.gateway}/#/channels?model=${model.id}`);
  const provider = byId("provider").and(page.locator(`[data-provider="${env.compute.provider}"]`));
  await provider.waitFor();
  check(await provider.locator('[data-testid="pick-provider"]').isChecked(), "the gateway's own provider is picked");
  await page.fill('input[name="deposit"]', "0.05");
  await byId("open-channel").click();
  await txDoneNamed(byId("channel-open"), "Open a channel of 0.05 DDT");
  const row = byId("channel").first();
  await row.waitFor();
  const channelId = await row.getAttribute("data-channel");
  check((await row.getAttribute("data-deposit")) === String(5n * price), "deposit on chain: 5 prices");

  step("channels: call the demo model twice, the running total shown");
  const total = byId("running-total");
  for (const n of [1n, 2n]) {
    await byId("invoke-model").click();
    await page.waitForFunction(([wanted]) => document.querySelector('[data-testid="running-total"]')?.dataset.cumulative === wanted
      || document.querySelector('[data-testid="invoke-status"]')?.dataset.phase === "failed", [String(n * price)]);
    const status = await byId("invoke-status").textContent();
    check((await byId("invoke-status").getAttribute("data-phase")) === "confirmed", `call ${n}: ${status}`);
  }
  const answer = JSON.parse(await byId("invoke-result").textContent());
  check(answer.day === 12 && typeof answer.temperature_c === "number", `the model's answer: ${JSON.stringify(answer)}`);
  check((await total.textContent()) === `Channel #${channelId} has paid 0.02 DDT in all (2 × 0.01 DDT).`, `total: ${await total.textContent()}`);

  step("channels: the gateway holds exactly two prices for the channel");
  // a voucher for 0 is stale: the 402 names what the gateway accepted so far
  const probe = await fetch(`${env.gateway}/v1/models/${model.id}/invoke`, {
    method: "POST", body: "{}", headers: { "Content-Type": "application/json", "X-DataDAO-Voucher": `${channelId}:0:0x${"11".repeat(65)}` },
  });
  const problem = await probe.json();
  check(probe.status === 402 && problem.reason === "stale", `probe: ${probe.status} ${JSON.stringify(problem)}`);
  check(problem.accepted_cumulative === String(2n * price), `accepted at the gateway: ${problem.accepted_cumulative}`);
  await shot("channels");

  step("channels: a price above the per-call maximum is refused before the wallet opens");
  const signsBefore = await page.evaluate(() => window.__e2eWallet.state.requests.filter((m) => m === "eth_signTypedData_v4").length);
  await page.fill('input[name="maxPrice"]', "0.005");
  await byId("invoke-model").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="invoke-status"]')?.dataset.phase === "failed");
  const refused = await byId("invoke-status").textContent();
  check(/above your maximum of 5000000000000000: nothing signed\.$/.test(refused), `refused: ${refused}`);
  const signsAfter = await page.evaluate(() => window.__e2eWallet.state.requests.filter((m) => m === "eth_signTypedData_v4").length);
  check(signsAfter === signsBefore, "no voucher signed");

  step("channels: top the channel up");
  await clearTx(page.locator("main"));
  await row.locator('[data-testid="top-up-amount"]').fill("0.03");
  await row.locator('[data-testid="top-up"]').click();
  await page.waitForFunction(([id, wanted]) => document.querySelector(`[data-testid="channel"][data-channel="${id}"]`)?.dataset.deposit === wanted
    || document.querySelector('[data-testid="tx-status"][data-phase="failed"]'), [channelId, String(8n * price)]);
  check((await byId("channel").first().getAttribute("data-deposit")) === String(8n * price), `deposit after the top-up: ${await page.locator('[data-testid="tx-status"]').allTextContents()}`);
}
