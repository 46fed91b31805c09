// Browser end-to-end test of the dApp against the real stack (ganache, Kubo, deployed
// contracts, indexer, gateway serving frontend/dist), in headless Debian Chromium through
// playwright-core. The wallet is e2e/wallet.js: EIP-6963 + EIP-1193, forwarding to ganache's
// unlocked dev accounts.
//
//   node e2e/run.mjs            (from frontend/, after `npm run build`; `make test-frontend`)
//
// Flow: catalog → connect → switch network → rejected purchase → buy with permit → sign in →
// download (sha256 equals the published file, checked in the page against the chain) → a hostile
// gateway (tests/dapp/helpers/hostile_gateway.py, reached with ?gateway=): its relayed sign-in
// challenge is refused, its forged download is not saved → my licenses → the owner front-runs a purchase
// (refused, nothing paid) → stake → (3 days later) start earning → buy again with
// approve + buy → claim → request unstake → (3 days later) withdraw stake → switch to the
// publisher's account → withdraw payout → back to the buyer, sign in again → DataDAO (made by
// e2e/stack.py, the buyer a member): members → propose publishing a dataset as the DAO →
// (voting delay later) vote For → (voting period later) queue → (execution delay later)
// execute → the DAO owns the new dataset (catalog and ownerOf on chain; its page shows no
// algorithm listed) → a second proposal, passed the same way, lists the stack's algorithm on it
// (trustAlgorithm) → its page shows the listed algorithm → buy its COMPUTE license → a job is
// refused before the wallet (no COMPUTE license on the algorithm) → buy the algorithm's COMPUTE
// license → start a job with the stack's algorithm at the gateway's provider → follow it until
// the result is posted → read the result (equals what the algorithm computes; sha256 equals the
// on-chain result hash) → (challenge window later) finalize. Time moves with ganache's
// evm_increaseTime + evm_mine. Then the flows in e2e/flows/ (job actions, channels, publish,
// owner tools, cart, resume and retire, licence tokens: sell, buy, transfer). Screenshots of
// each page go to test-output/; the catalog and asset page ones are copied to docs/img/.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { ownerFlow } from "./flows/owner.mjs";
import { decodeFunctionResult, encodeFunctionData, getAddress, parseAbi } from "viem";
import { publishFromBrowser } from "./flows/publish.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const frontend = resolve(here, "..");
const repo = resolve(frontend, "..");
const output = join(frontend, "test-output");
const docsImg = join(repo, "docs", "img");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const STEP_TIMEOUT = Number(process.env.E2E_STEP_TIMEOUT ?? 60_000);

const timings = [];
let stepStarted = Date.now();
function step(name) {
  const now = Date.now();
  if (timings.length) timings[timings.length - 1].ms = now - stepStarted;
  timings.push({ name, ms: 0 });
  stepStarted = now;
  console.log(`• ${name}`);
}

function startStack() {
  const python = join(repo, ".venv", "bin", "python");
  const child = spawn(python, [join(here, "stack.py")], { cwd: repo, stdio: ["pipe", "pipe", "inherit"] });
  const ready = new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error("the stack did not start within 300 s")), 300_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      clearTimeout(timer);
      const info = JSON.parse(line);
      if (info.error) reject(new Error(`the stack failed: ${info.error} (logs in ${info.logs})`));
      else resolveReady(info);
    });
    child.on("exit", (code) => reject(new Error(`the stack exited with ${code}`)));
  });
  const stop = () =>
    new Promise((done) => {
      if (child.exitCode !== null) return done();
      child.on("exit", () => done());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 30_000).unref();
    });
  return { ready, stop };
}

/** tests/dapp/helpers/hostile_gateway.py in front of the stack's gateway, until the runner ends. */
function startHostile(honestUrl, ...flags) {
  const python = join(repo, ".venv", "bin", "python");
  const child = spawn(python, ["-m", "tests.dapp.helpers.hostile_gateway", honestUrl, ...flags],
    { cwd: repo, stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, PYTHONPATH: repo } });
  const ready = new Promise((resolveReady, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => line.startsWith("{") && resolveReady(JSON.parse(line).url));
    child.on("exit", (code) => reject(new Error(`the hostile gateway exited with ${code}`)));
  });
  ready.catch(() => undefined);
  return { ready, stop: () => child.kill("SIGTERM") };
}

async function rpc(url, method, params = []) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return response.json();
}

/** Move ganache's clock forward and mine a block at the new time (what `state()` reads). */
async function advance(url, seconds) {
  await rpc(url, "evm_increaseTime", [seconds]);
  await rpc(url, "evm_mine", []);
}

const OWNER_OF = parseAbi(["function ownerOf(uint256 tokenId) view returns (address)"]);
const TRUST_ALGORITHM = parseAbi(["function trustAlgorithm(uint256 datasetId, uint256 algorithmId, uint32 version)"]);
const SET_OFFER = parseAbi([
  "struct OfferInput { address token; uint96 price; uint64 duration; uint8 scope; }",
  "function setOffer(uint256 assetId, uint256 offerId, OfferInput input)",
]);

/** A transaction from one of the dev chain's unlocked accounts, waited for. */
async function sendAs(url, from, to, data) {
  const sent = await rpc(url, "eth_sendTransaction", [{ from, to, data, gas: "0x7a120" }]);
  if (!sent.result) throw new Error(`eth_sendTransaction: ${JSON.stringify(sent.error)}`);
  for (let i = 0; i < 50; i++) {
    const receipt = (await rpc(url, "eth_getTransactionReceipt", [sent.result])).result;
    if (receipt) {
      check(receipt.status === "0x1", `transaction ${sent.result} reverted`);
      return receipt;
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`no receipt for ${sent.result}`);
}

async function ownerOf(url, registry, assetId) {
  const data = encodeFunctionData({ abi: OWNER_OF, functionName: "ownerOf", args: [BigInt(assetId)] });
  const answer = await rpc(url, "eth_call", [{ to: registry, data }, "latest"]);
  if (answer.error) throw new Error(`ownerOf(${assetId}): ${answer.error.message}`);
  return decodeFunctionResult({ abi: OWNER_OF, functionName: "ownerOf", data: answer.result });
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

async function main() {
  mkdirSync(output, { recursive: true });
  const started = Date.now();
  step("start the stack (ganache, Kubo, deploy, indexer, gateway, publish demo assets)");
  const stack = startStack();
  let context;
  let page;
  const profile = mkdtempSync(join(tmpdir(), "dapp-e2e-chromium-"));
  const hostiles = [];
  try {
    const env = await stack.ready;
    const [asset, second] = env.assets;
    // one relays the honest sign-in challenge, one signs in itself and forges downloads
    hostiles.push(startHostile(env.gateway), startHostile(env.gateway, "--no-relay", "--same-size"));

    step("launch Chromium");
    check(existsSync(CHROMIUM), `${CHROMIUM} is missing: make frontend-deps installs Debian's chromium`);
    // a fresh profile directory for every run (Playwright passes it as --user-data-dir)
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    await context.exposeBinding("__e2eRpc", async (_source, payload) => {
      const response = await fetch(env.rpc, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
      return response.json();
    });
    const walletSource = readFileSync(join(here, "wallet.js"), "utf8").replace(/;\s*$/, "");
    const walletConfig = { account: env.buyer, chainId: env.chainId, startChainId: 1 };
    await context.addInitScript({ content: `(${walletSource})(${JSON.stringify(walletConfig)});` });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT);
    const consoleErrors = [];
    page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    const shot = (name) => page.screenshot({ path: join(output, `${name}.png`), fullPage: true });
    const byId = (id) => page.locator(`[data-testid="${id}"]`);
    const txDone = async (scope, phase = "confirmed") => {
      const line = scope.locator('[data-testid="tx-status"][data-phase="confirmed"], [data-testid="tx-status"][data-phase="failed"]');
      await line.first().waitFor();
      const text = await line.first().textContent();
      const actual = await line.first().getAttribute("data-phase");
      check(actual === phase, `expected ${phase}, got: ${text}`);
      return text;
    };
    // a page that sends two transactions in a row (approve, then the call) shows both on one
    // line: wait for the one named `label` (or any failure)
    const txDoneNamed = async (scope, label) => {
      const lines = await scope.locator('[data-testid="tx-status"]').elementHandles();
      const found = await page.waitForFunction(([elements, wanted]) => elements.find((line) => line.dataset.phase === "failed"
        || (line.dataset.phase === "confirmed" && line.textContent.startsWith(wanted))), [lines, label]);
      const [text, phase] = await found.evaluate((line) => [line.textContent, line.dataset.phase]);
      check(phase === "confirmed", `expected ${label} confirmed, got: ${text}`);
      return text;
    };
    const noAlert = async (name) => {
      const alerts = await page.locator('main [role="alert"]').allTextContents();
      check(alerts.every((text) => !text.trim()), `${name} page shows an error: ${alerts.join(" | ")}`);
    };
    const clearTx = (scope) => scope.locator('[data-testid="tx-status"]').evaluateAll((lines) => lines.forEach((l) => { l.textContent = ""; delete l.dataset.phase; }));

    step("catalog");
    await page.goto(`${env.gateway}/`);
    // the page may render again (the wallet announcing itself): take the titles of a render
    // that shows them all, or after the timeout whatever is there
    const titles = await page
      .waitForFunction((wanted) => {
        const shown = [...document.querySelectorAll('[data-testid="asset-card"] h2')].map((h) => h.textContent);
        return wanted.every((title) => shown.includes(title)) && shown;
      }, env.assets.map((a) => a.title))
      .then((handle) => handle.jsonValue())
      .catch(() => byId("asset-card").locator("h2").allTextContents());
    check(env.assets.every((a) => titles.includes(a.title)), `demo assets in the catalog: ${titles}`);
    check((await byId("catalog-total").textContent()) === `${titles.length} assets`, "catalog total");
    await page.getByText("10 DDT").first().waitFor(); // token symbol read from the chain
    await shot("catalog");
    await page.selectOption('select[name="kind"]', "model");
    await page.click('form[data-testid="filters"] button[type="submit"]');
    await page.waitForFunction(() => /kind=model/.test(location.hash) && document.querySelector('[data-testid="asset-card"], [data-testid="notice-empty"]'));
    await byId("asset-card").first().waitFor();
    const kinds = await byId("asset-card").locator(".kind").allTextContents();
    check(kinds.every((k) => k === "model"), `kind filter: ${kinds}`);
    check((await byId("asset-card").locator("h2").allTextContents()).includes(second.title), "the model is listed");
    await shot("catalog-filtered");

    step("connect the wallet (EIP-6963) and switch network");
    await page.goto(`${env.gateway}/#/asset/${asset.id}`);
    await byId("asset-title").waitFor();
    await page.click('[data-testid="connect"][data-wallet="exchange.datadao.e2e"]');
    await byId("account").waitFor();
    await byId("wrong-network").waitFor();
    await shot("wrong-network");
    await byId("switch-network").click();
    await byId("wrong-network").waitFor({ state: "detached" });
    check((await byId("chain").textContent()) === "Local dev chain", "wallet on the dev chain");

    step("a purchase rejected in the wallet says so");
    const offers = byId("offers");
    await page.evaluate(() => window.__e2eWallet.rejectNext());
    await offers.locator('[data-testid="buy-permit"]').first().click();
    const rejected = await txDone(offers, "failed");
    check(rejected.includes("You rejected the request in your wallet"), `rejection in words: ${rejected}`);
    await shot("purchase-rejected");

    step("buy with an EIP-2612 permit (one transaction)");
    await clearTx(offers);
    await offers.locator('[data-testid="buy-permit"]').first().click();
    const bought = await txDone(offers);
    check(/confirmed in block \d+/.test(bought), bought);
    await page.waitForFunction(() => document.querySelector('[data-testid="stat-sales"]')?.textContent === "1");

    step("sign in with Ethereum");
    await byId("sign-in").click();
    await byId("signed-in").waitFor();

    step("download with a progress bar; sha256 equals the published file");
    const downloadEvent = page.waitForEvent("download");
    await byId("download-button").click();
    const digest = (await byId("download-sha256").textContent()).trim();
    check(digest === asset.sha256, `sha256 shown ${digest} != published ${asset.sha256}`);
    const download = await downloadEvent;
    const saved = join(output, download.suggestedFilename());
    await download.saveAs(saved);
    const savedDigest = createHash("sha256").update(readFileSync(saved)).digest("hex");
    check(savedDigest === asset.sha256, "the saved file's sha256");
    check(download.suggestedFilename() === asset.file, `file name ${download.suggestedFilename()}`);
    const progress = await byId("progress").evaluate((bar) => [bar.value, bar.max]);
    check(progress[0] === progress[1] && progress[1] > 0, `progress bar full: ${progress}`);
    await shot("asset-downloaded");

    step("a hostile gateway (?gateway=): its relayed sign-in is refused, its forged download is not saved");
    const [relayUrl, forgerUrl] = await Promise.all(hostiles.map((hostile) => hostile.ready));
    const tab = await context.newPage(); // a page of its own: the buyer's page stays as it is
    tab.setDefaultTimeout(STEP_TIMEOUT);
    let saves = 0;
    tab.on("download", () => { saves += 1; });
    const inTab = (id) => tab.locator(`[data-testid="${id}"]`);
    const openThrough = async (hostileUrl) => {
      await tab.goto(`${env.gateway}/?gateway=${encodeURIComponent(hostileUrl)}#/asset/${asset.id}`);
      await inTab("asset-title").waitFor();
      await tab.click('[data-testid="connect"][data-wallet="exchange.datadao.e2e"]');
      await inTab("switch-network").click();
      await inTab("wrong-network").waitFor({ state: "detached" });
    };
    await openThrough(relayUrl);
    await inTab("sign-in").click();
    const relayed = (await inTab("wallet-error").textContent()).trim();
    check(relayed.startsWith(`The gateway at ${relayUrl} asked you to sign in to ${env.gateway} (`) && relayed.includes("Nothing was signed.")
      && !relayed.includes("\n"), `relay refused in one line: ${relayed}`);
    const signed = await tab.evaluate(() => window.__e2eWallet.state.requests.filter((method) => method === "personal_sign").length);
    check(signed === 0, `the wallet was asked to sign ${signed} time(s) for the relayed challenge`);
    await tab.screenshot({ path: join(output, "hostile-sign-in.png"), fullPage: true });
    await openThrough(forgerUrl);
    await inTab("sign-in").click(); // its own challenge, for its own origin: that one is fine
    await inTab("signed-in").waitFor();
    await inTab("download-button").click();
    await tab.locator('[data-testid="download-result"][role="alert"]').waitFor();
    const forged = (await inTab("download-result").textContent()).trim();
    check(new RegExp(`^The gateway sent asset ${asset.id} v1 that is not what the chain names: it hashes to [0-9a-f]{64}, not the declared ${asset.sha256}; nothing was saved\\.`).test(forged),
      `forged download refused: ${forged}`);
    check(saves === 0 && (await inTab("download-sha256").count()) === 0, `the forged file was handed over (${saves} downloads)`);
    await tab.screenshot({ path: join(output, "hostile-download.png"), fullPage: true });
    await tab.close();

    step("my licenses");
    await page.goto(`${env.gateway}/#/licenses`);
    await byId("license").first().waitFor();
    check((await byId("license").first().getAttribute("data-asset")) === String(asset.id), "license listed");
    await shot("licenses");

    step("the owner changes the offer under the open page: the purchase is refused, nothing paid");
    await page.goto(`${env.gateway}/#/asset/${asset.id}`);
    await offers.locator('[data-testid="buy-permit"]').first().waitFor();
    const [shownOffer] = (await (await fetch(`${env.gateway}/v1/assets/${asset.id}`)).json()).offers;
    const registryAddress = (await (await fetch(`${env.gateway}/v1/deployment`)).json()).contracts.AssetRegistry.address;
    const setOffer = (duration) => sendAs(env.rpc, env.publisher, registryAddress, encodeFunctionData({
      abi: SET_OFFER, functionName: "setOffer",
      args: [BigInt(asset.id), BigInt(shownOffer.offer_id), { token: shownOffer.token, price: BigInt(shownOffer.price), duration: BigInt(duration), scope: 0 }],
    }));
    await setOffer(1); // a one-second license for the full price, in front of the buyer
    await clearTx(offers);
    await offers.locator('[data-testid="buy-permit"]').first().click();
    const refused = await txDone(offers, "failed");
    check(refused.includes("changed this offer's terms") && refused.includes("nothing was bought"), `front-run refused in words: ${refused}`);
    await shot("purchase-offer-changed");
    await setOffer(shownOffer.duration);
    // The page froze the offer's terms when it rendered them (maybe after the one-second change
    // was indexed): wait until the catalog shows the restored offer, then render the page anew.
    for (let tries = 0; ; tries++) {
      const [now] = (await (await fetch(`${env.gateway}/v1/assets/${asset.id}`)).json()).offers;
      if (String(now.duration) === String(shownOffer.duration)) break;
      check(tries < 100, "the catalog shows the restored offer within 20 s");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    step("stake (it warms up first), start earning, buy again with approve + buy, claim the curator's reward");
    await page.goto(`${env.gateway}/#/licenses`); // away and back: the asset page renders anew
    await page.goto(`${env.gateway}/#/asset/${asset.id}`);
    const curation = byId("curation");
    await byId("stake-active").waitFor();
    await byId("stake-amount").fill("5");
    await byId("stake").click();
    await txDone(curation);
    await page.waitForFunction(() => /^5 DDT, earns from/.test(document.querySelector('[data-testid="stake-warming"]')?.textContent ?? ""));
    check((await byId("stake-active").textContent()) === "0 DDT", "a new stake does not earn yet");
    await advance(env.rpc, 3 * 24 * 3600 + 60); // the warm-up (one unbonding delay)
    await byId("stake-refresh").click();
    await byId("activate-stake").waitFor({ state: "visible" });
    await clearTx(curation);
    await byId("activate-stake").click();
    await txDone(curation);
    await page.waitForFunction(() => document.querySelector('[data-testid="stake-active"]')?.textContent === "5 DDT");
    check((await byId("stake-warming").textContent()) === "nothing", "nothing warming up once activated");
    await offers.locator('[data-testid="buy-approve"]').first().click();
    await txDone(offers);
    await byId("stake-refresh").click();
    await page.waitForFunction(() => /DDT/.test(document.querySelector('[data-testid="stake-earned"]')?.textContent ?? ""));
    await clearTx(curation);
    await byId("claim").click();
    await txDone(curation);
    await page.waitForFunction(() => document.querySelector('[data-testid="stake-earned"]')?.textContent === "nothing yet");

    step("request unstake, wait out the unbonding delay, withdraw the stake");
    await clearTx(curation);
    await byId("unstake").click();
    await txDone(curation);
    await page.waitForFunction(() => /^5 DDT/.test(document.querySelector('[data-testid="stake-unbonding"]')?.textContent ?? ""));
    await rpc(env.rpc, "evm_increaseTime", [3 * 24 * 3600 + 60]);
    await rpc(env.rpc, "evm_mine", []);
    await clearTx(curation);
    await byId("withdraw-stake").click();
    await txDone(curation);
    await page.waitForFunction(() => document.querySelector('[data-testid="stake-unbonding"]')?.textContent === "nothing");
    await page.waitForFunction(() => document.querySelector('[data-testid="stat-sales"]')?.textContent === "2");
    await shot("asset");

    step("switch to the publisher's account and withdraw the payout");
    await page.goto(`${env.gateway}/#/payouts`);
    await byId("payout").first().waitFor();
    await page.evaluate((account) => window.__e2eWallet.setAccount(account), env.publisher);
    await page.waitForFunction((short) => document.querySelector('[data-testid="account"]')?.textContent === short,
      `${env.publisher.slice(0, 6)}…${env.publisher.slice(-4)}`);
    check((await byId("sign-in").count()) === 1, "the buyer's session is gone after the account changed");
    await byId("withdraw").waitFor();
    const owed = await byId("payout-balance").first().textContent();
    await shot("payouts");
    await byId("withdraw").click();
    await txDone(page.locator("main"));
    await page.waitForFunction(() => document.querySelector('[data-testid="payout-balance"]')?.textContent === "0 DDT");
    console.log(`  publisher withdrew ${owed}`);

    step("back to the buyer's account, sign in again");
    await page.evaluate((account) => window.__e2eWallet.setAccount(account), env.buyer);
    await page.waitForFunction((short) => document.querySelector('[data-testid="account"]')?.textContent === short,
      `${env.buyer.slice(0, 6)}…${env.buyer.slice(-4)}`);
    await byId("sign-in").click();
    await byId("signed-in").waitFor();

    const { dao } = env;
    const main = page.locator("main");
    const refreshDao = async () => {
      await clearTx(main);
      await byId("dao-refresh").click();
    };
    /** One call proposed on the open DAO page, voted For, queued and executed (time moved on
     *  the dev chain past each delay). */
    const passProposal = async (tag, what, { target, calldata, description }) => {
      const proposal = page.locator('[data-testid="proposal"]').filter({ hasText: description });
      const proposalIn = (state) => proposal.and(page.locator(`[data-state="${state}"]`)).waitFor();
      step(`DataDAO (${tag}): propose ${what}`);
      const form = byId("dao-propose");
      await form.locator('input[name="target"]').fill(target);
      await form.locator('textarea[name="calldata"]').fill(calldata);
      await form.locator('input[name="description"]').fill(description);
      await byId("propose").click();
      await txDone(main);
      await proposalIn("pending");
      check((await proposal.count()) === 1, "one proposal with this description");
      check((await proposal.locator("td").first().textContent()).startsWith(description), "the proposal's description");

      step(`DataDAO (${tag}): voting opens; vote For`);
      await advance(env.rpc, dao.votingDelay + 1);
      await refreshDao();
      await proposalIn("active");
      await proposal.locator('[data-testid="vote-for"]').click();
      await txDone(main);
      await proposal.locator('[data-testid="you-voted"]').filter({ hasText: /^you voted For$/ }).waitFor();
      const tally = await proposal.locator('[data-testid="proposal-votes"]').textContent();
      check(tally.startsWith(`60 ${dao.symbol} for · 0 ${dao.symbol} against`), `votes: ${tally}`);
      check((await proposal.locator('[data-testid="vote-for"]').count()) === 0, "no second vote offered");

      step(`DataDAO (${tag}): the vote closes and passes; queue, then execute after the delay`);
      await advance(env.rpc, dao.votingPeriod + 1);
      await refreshDao();
      await proposalIn("succeeded");
      await proposal.locator('[data-testid="queue"]').click();
      await txDone(main);
      await proposalIn("queued");
      check((await proposal.locator('[data-testid="execute"]').count()) === 0, "no execute before the execution delay");
      await advance(env.rpc, dao.executionDelay + 1);
      await refreshDao();
      await proposal.locator('[data-testid="execute"]').click();
      await txDone(main);
      await proposalIn("executed");
      check((await proposal.locator('[data-testid="proposal-state"]').textContent()) === "executed", "state shown as executed");
      await noAlert("dao");
    };

    step("DataDAO: the DAO and its members");
    await page.goto(`${env.gateway}/#/dao`);
    await byId("dao-item").first().waitFor();
    const listed = await byId("dao-item").allTextContents();
    check(listed.length === 1 && listed[0].startsWith(`${dao.name} (${dao.symbol})`), `DAOs listed: ${listed}`);
    await byId("dao-item").locator("a").click();
    await byId("dao-member").nth(dao.members.length - 1).waitFor();
    const members = await byId("dao-member").evaluateAll((rows) => rows.map((row) =>
      [row.dataset.address, row.querySelector('[data-testid="member-shares"]').textContent, row.textContent.includes("(you)")]));
    const expectedMembers = dao.members.map((m) => [m.address, `${BigInt(m.shares) / 10n ** 18n} ${dao.symbol}`, m.address === env.buyer]);
    check(JSON.stringify(members) === JSON.stringify(expectedMembers), `members ${JSON.stringify(members)}`);
    check((await byId("dao-your-shares").textContent()) === `60 ${dao.symbol}`, "the buyer's shares");
    check((await page.getByText("No proposals yet.").count()) === 1, "no proposal before the e2e's");
    await noAlert("dao");

    const daoPage = page.url();
    await passProposal("publish", "publishing a dataset as the DAO (the call `datadao publish --dao` printed)", dao.proposal);
    await shot("dao");

    step("DataDAO: the DAO owns the dataset it voted to publish");
    await page.click('[data-testid="dao-assets"]');
    const card = byId("asset-card").filter({ hasText: dao.dataset.title });
    await page.waitForFunction(() => document.querySelector('[data-testid="asset-card"], [data-testid="notice-empty"]'));
    for (let tries = 0; !(await card.count()); tries += 1) { // the indexer follows the chain
      check(tries < 60, `${dao.dataset.title} did not reach the catalog`);
      await page.waitForTimeout(500);
      await page.evaluate(() => window.dispatchEvent(new HashChangeEvent("hashchange"))); // render the catalog again
      await page.waitForFunction(() => document.querySelector('[data-testid="asset-card"], [data-testid="notice-empty"]'));
    }
    check((await byId("asset-card").count()) === 1, "only the DAO's asset under its owner filter");
    await card.locator("a").first().click();
    await byId("asset-title").waitFor();
    const daoAssetId = Number(/#\/asset\/(\d+)/.exec(page.url())[1]);
    check((await byId("asset-head").locator("code").getAttribute("title")) === dao.address, "the asset page names the DAO as owner");
    const registry = (await (await fetch(`${env.gateway}/v1/deployment`)).json()).contracts.AssetRegistry.address;
    check((await ownerOf(env.rpc, registry, daoAssetId)) === getAddress(dao.address), "ownerOf on chain is the DAO");
    console.log(`  the DAO published asset #${daoAssetId}`);
    const { compute } = env;

    step("compute: the DAO dataset's page shows its compute policy: no algorithm listed yet");
    const policySummary = byId("compute-policy").locator('[data-testid="policy-summary"]');
    check((await policySummary.textContent()) === "Compute jobs: no algorithm is listed yet: no job can run on it.", `policy: ${await policySummary.textContent()}`);
    check((await byId("policy-result-cap").textContent()) === "the provider's own cap", "no result cap set");
    check((await byId("policy-dao").count()) === 1, "the DAO's members list algorithms by vote");
    check((await byId("trust-algorithm").count()) === 0, "no owner controls for a member: the DAO owns the dataset");

    const trust = {
      target: registry,
      calldata: encodeFunctionData({ abi: TRUST_ALGORITHM, functionName: "trustAlgorithm", args: [BigInt(daoAssetId), BigInt(compute.algorithm.id), 0] }),
      description: `List algorithm #${compute.algorithm.id} (${compute.algorithm.title}) on dataset #${daoAssetId} for compute jobs`,
    };
    await page.goto(daoPage);
    await byId("dao-propose").waitFor();
    await passProposal("list the algorithm", "listing the algorithm on the DAO's dataset (trustAlgorithm)", trust);

    step("compute: the dataset's page shows the algorithm the DAO listed");
    await page.goto(`${env.gateway}/#/asset/${daoAssetId}`);
    const listedAlgorithm = byId("trusted-algorithm").and(page.locator(`[data-algorithm="${compute.algorithm.id}"]`));
    for (let tries = 0; !(await listedAlgorithm.count()); tries += 1) { // the indexer follows the chain
      check(tries < 60, "the listed algorithm did not reach the dataset's page");
      await page.waitForTimeout(500);
      await page.evaluate(() => window.dispatchEvent(new HashChangeEvent("hashchange")));
      await byId("compute-policy").waitFor();
    }
    check((await policySummary.textContent()) === "Compute jobs: only the algorithm listed below may run on it.", `policy: ${await policySummary.textContent()}`);
    check((await listedAlgorithm.getAttribute("data-version")) === "0" && (await listedAlgorithm.textContent()).includes("latest version"), "not pinned");
    const algorithmLink = listedAlgorithm.locator('[data-testid="trusted-algorithm-link"]');
    check((await algorithmLink.getAttribute("href")) === `#/asset/${compute.algorithm.id}`, "links to the algorithm's page");
    await algorithmLink.filter({ hasText: `${compute.algorithm.title} (#${compute.algorithm.id})` }).waitFor(); // its title, from the catalog
    await shot("dao-dataset-policy");

    step("compute: buy the DAO dataset's COMPUTE license");
    const offerText = await offers.locator('[data-testid="offer"]').first().textContent();
    check(/compute license perpetual/.test(offerText), `the DAO's offer: ${offerText}`);
    await clearTx(offers);
    await offers.locator('[data-testid="buy-permit"]').first().click();
    await txDone(offers);

    step("compute: without the algorithm's COMPUTE license, the job is refused before the wallet opens");
    await page.goto(`${env.gateway}/#/compute?dataset=${daoAssetId}&algorithm=${compute.algorithm.id}`);
    await byId("compute-start").click();
    const noAlgorithmLicense = await txDone(byId("compute-new"), "failed");
    check(noAlgorithmLicense === `You have no COMPUTE license on algorithm #${compute.algorithm.id}: buy one on its page (its owner is paid like any sale), then start the job.`, `refused in words: ${noAlgorithmLicense}`);
    check((await byId("job").count()) === 0, "no job created");

    step("compute: buy the algorithm's COMPUTE license");
    await page.goto(`${env.gateway}/#/asset/${compute.algorithm.id}`);
    const algorithmOffer = await offers.locator('[data-testid="offer"]').first().textContent();
    check(/compute license perpetual/.test(algorithmOffer), `the algorithm's offer: ${algorithmOffer}`);
    await clearTx(offers);
    await offers.locator('[data-testid="buy-permit"]').first().click();
    await txDone(offers);

    step("compute: start a job with the algorithm at the gateway's provider");
    await page.goto(`${env.gateway}/#/compute?dataset=${daoAssetId}&algorithm=${compute.algorithm.id}`);
    await byId("compute-start").waitFor();
    check((await page.inputValue('input[name="provider"]')) === compute.provider, "the gateway's provider is filled in");
    await byId("compute-start").click();
    await txDoneNamed(byId("compute-new"), "Start the compute job");
    const job = byId("job").first();
    await job.waitFor();
    const jobId = await job.getAttribute("data-job");
    console.log(`  job #${jobId}: ${await job.getAttribute("data-status")}`);

    step("compute: follow the job until the provider posts its result");
    await page.waitForFunction(() => ["submitted", "failed", "refunded"].includes(
      document.querySelector('[data-testid="job"]')?.dataset.status) && document.querySelector('[data-testid="show-result"], [data-testid="job"][data-status="failed"]'),
    undefined, { timeout: 120_000 });
    const posted = await byId("job-status").first().textContent();
    check(/^result posted — challenge window until /.test(posted), `job status: ${posted}`);

    step("compute: read the result");
    await byId("show-result").click();
    await byId("job-result").waitFor();
    const resultShown = await byId("job-result").textContent();
    check(resultShown === compute.expected, `result ${JSON.stringify(resultShown)} != ${JSON.stringify(compute.expected)}`);
    check((await byId("job-result-check").getAttribute("data-matches")) === "true", await byId("job-result-check").textContent());

    step("compute: the challenge window passes; finalize");
    await advance(env.rpc, compute.challengeWindow + 1);
    await clearTx(main);
    await byId("jobs-refresh").click();
    await byId("finalize").click();
    await txDoneNamed(main, `Finalize job #${jobId}`);
    await page.waitForFunction(() => document.querySelector('[data-testid="job"]')?.dataset.status === "finalized");
    await byId("show-result").click();
    await page.waitForFunction((expected) => document.querySelector('[data-testid="job-result"]')?.textContent === expected, compute.expected);
    await noAlert("compute");
    await shot("compute");
    await (await import("./flows/jobactions.mjs")).jobActionsFlow({ page, env, byId, txDoneNamed, clearTx, check, step, rpc, advance, sendAs, datasetId: daoAssetId, docsImg });
    await (await import("./flows/channels.mjs")).channelsFlow({ page, env, byId, txDone, txDoneNamed, clearTx, check, step, shot });
    await (await import("./flows/channelsettle.mjs")).channelSettleFlow({ page, env, byId, txDoneNamed, clearTx, check, step, rpc, advance });

    step("compute: a dataset's owner lists an algorithm on its page, then removes it");
    await page.evaluate((account) => window.__e2eWallet.setAccount(account), env.publisher);
    await page.goto(`${env.gateway}/#/asset/${asset.id}`);
    const policy = byId("compute-policy");
    await byId("trust-algorithm-id").fill(String(compute.algorithm.id));
    await byId("trust-algorithm").click();
    await txDoneNamed(policy, `List algorithm #${compute.algorithm.id} on dataset #${asset.id}`);
    const ownerListed = policy.locator(`[data-testid="trusted-algorithm"][data-algorithm="${compute.algorithm.id}"]`);
    await ownerListed.waitFor(); // the section again once the catalog has it
    check((await policySummary.textContent()) === "Compute jobs: only the algorithm listed below may run on it.", `policy: ${await policySummary.textContent()}`);
    await clearTx(policy);
    await ownerListed.locator('[data-testid="untrust-algorithm"]').click();
    await txDoneNamed(policy, `Remove algorithm #${compute.algorithm.id} from dataset #${asset.id}`);
    await ownerListed.waitFor({ state: "detached" });
    check((await policySummary.textContent()) === "Compute jobs: no algorithm is listed yet: no job can run on it.", `policy: ${await policySummary.textContent()}`);

    await publishFromBrowser({ page, env, byId, txDone, step, check, shot, output });
    await (await import("./flows/multiseal.mjs")).multisealFlow({ page, env, byId, txDone, step, check, output });
    await ownerFlow({ page, env, step, check, rpc, byId, txDoneNamed, clearTx, shot, output, docsImg: (mkdirSync(docsImg, { recursive: true }), docsImg) });
    await (await import("./flows/ownerstate.mjs")).ownerStateFlow({ page, env, byId, txDoneNamed, check, step, rpc });
    await (await import("./flows/licencetokens.mjs")).licenceTokensFlow({ page, env, byId, txDoneNamed, check, step, rpc });

    step("docs screenshots");
    mkdirSync(docsImg, { recursive: true });
    copyFileSync(join(output, "catalog.png"), join(docsImg, "dapp-catalog.png"));
    copyFileSync(join(output, "asset.png"), join(docsImg, "dapp-asset.png"));
    copyFileSync(join(output, "dao.png"), join(docsImg, "dapp-dao.png"));
    const unexpected = consoleErrors.filter((text) => !/Failed to load resource/.test(text));
    check(unexpected.length === 0, `console errors: ${unexpected.join(" | ")}`);
    step("done");
    console.log(`\nE2E passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const { name, ms } of timings.slice(0, -1)) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${name}`);
  } catch (error) {
    if (page) {
      await page.screenshot({ path: join(output, "failure.png"), fullPage: true }).catch(() => undefined);
      const shown = await page.locator('[role="alert"], [data-testid="tx-status"]').allTextContents().catch(() => []);
      error.message += `\n  on the page: ${shown.filter(Boolean).join(" | ") || "(no alert)"} (failure.png)`;
    }
    throw error;
  } finally {
    await context?.close().catch(() => undefined);
    hostiles.forEach((hostile) => hostile.stop());
    await stack.stop();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`\nE2E FAILED: ${error.message}`);
    console.error(`screenshots so far: ${output}`);
    process.exit(1);
  },
);
