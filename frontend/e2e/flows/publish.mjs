// Publish from the browser (docs/DAPP.md, "Publish"): the publisher picks a file on #/publish;
// the page encrypts it (DDX1), uploads it in chunks with a progress bar, stores the metadata
// and sends `publish` from the wallet. Then the buyer buys it and downloads it through the
// gateway, which decrypts in Python what the browser encrypted: the sha256 must be the file's.
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const docsImg = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "docs", "img");
const SIZE = 1_300_000; // three upload chunks, twenty DDX1 segments

export async function publishFromBrowser({ page, env, byId, txDone, step, check, shot, output }) {
  step("publish a file from the browser: encrypted here, uploaded with progress, published from the wallet");
  const data = randomBytes(SIZE);
  const sha256 = createHash("sha256").update(data).digest("hex");
  const short = (account) => `${account.slice(0, 6)}…${account.slice(-4)}`;
  await page.evaluate((account) => window.__e2eWallet.setAccount(account), env.publisher);
  await page.waitForFunction((text) => document.querySelector('[data-testid="account"]')?.textContent === text, short(env.publisher));
  await page.goto(`${env.gateway}/#/publish`);
  if (await byId("sign-in").count()) {
    await byId("sign-in").click();
    await byId("signed-in").waitFor();
  }
  await byId("publish-file").setInputFiles({ name: "browser-rain.bin", mimeType: "application/octet-stream", buffer: data });
  await byId("publish-title").fill("Rain gauges, published from the browser");
  await byId("publish-description").fill("Encrypted in the browser (DDX1) before upload.");
  await byId("publish-tags").fill("rain, browser");
  await byId("publish-price").fill("3");
  await byId("publish-submit").click();
  await txDone(page.locator("main"));
  const link = byId("published-link");
  await link.waitFor();
  const assetId = await link.getAttribute("data-asset");
  const [value, max] = await byId("progress").evaluate((bar) => [bar.value, bar.max]);
  check(value === max && max > SIZE, `upload progress bar full: ${value}/${max}`);
  check((await byId("publish-stage").getAttribute("data-sha256")) === sha256, "the page hashed the file it encrypted");
  await shot("publish");
  mkdirSync(docsImg, { recursive: true });
  copyFileSync(join(output, "publish.png"), join(docsImg, "dapp-publish.png"));

  step("the buyer buys the browser-published file and downloads it: sha256 equals the original");
  await page.evaluate((account) => window.__e2eWallet.setAccount(account), env.buyer);
  await page.waitForFunction((text) => document.querySelector('[data-testid="account"]')?.textContent === text, short(env.buyer));
  await page.goto(`${env.gateway}/#/asset/${assetId}`);
  await byId("asset-title").waitFor();
  check((await byId("asset-title").textContent()).includes("published from the browser"), "the new asset's page");
  const offers = byId("offers");
  await offers.locator('[data-testid="buy-permit"]').first().click();
  await txDone(offers);
  if (await byId("sign-in").count()) {
    await byId("sign-in").click();
    await byId("signed-in").waitFor();
  }
  const downloadEvent = page.waitForEvent("download");
  await byId("download-button").click();
  const download = await downloadEvent;
  const saved = join(output, `browser-published-${download.suggestedFilename()}`);
  await download.saveAs(saved);
  const savedDigest = createHash("sha256").update(readFileSync(saved)).digest("hex");
  check(savedDigest === sha256, `downloaded sha256 ${savedDigest} != published ${sha256}`);
  check(download.suggestedFilename() === "browser-rain.bin", `file name ${download.suggestedFilename()}`);
  return { assetId: Number(assetId), sha256 };
}
