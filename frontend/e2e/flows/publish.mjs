// Publish from the browser (docs/DAPP.md, "Publish"): the publisher picks a file, then a folder,
// on #/publish; the page packs the folder as the CLI does, encrypts (DDX1), uploads in chunks
// with a progress bar, stores the metadata and sends `publish` from the wallet. Then the buyer
// buys both and downloads them through the gateway, which decrypts in Python what the browser
// encrypted: the file's sha256 must be the original's, the folder's tar the one
// dapp/packing.py makes of the same folder.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const docsImg = join(repo, "docs", "img");
const SIZE = 1_300_000; // three upload chunks, twenty DDX1 segments
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");
const short = (account) => `${account.slice(0, 6)}…${account.slice(-4)}`;

/** The sha256 of what `datadao publish FOLDER` would pack (dapp/packing.py). */
function cliPackedSha256(folder) {
  return execFileSync(join(repo, ".venv", "bin", "python"), ["-c", `
import hashlib, sys
from pathlib import Path
from dapp.packing import iter_packed, plan_pack
root = Path(sys.argv[1])
print(hashlib.sha256(b"".join(iter_packed(root, plan_pack(root)))).hexdigest())
`, folder], { cwd: repo, env: { ...process.env, PYTHONPATH: repo }, encoding: "utf8" }).trim();
}

export async function publishFromBrowser({ page, env, byId, txDone, step, check, shot, output }) {
  const switchTo = async (account) => {
    await page.evaluate((address) => window.__e2eWallet.setAccount(address), account);
    await page.waitForFunction((text) => document.querySelector('[data-testid="account"]')?.textContent === text, short(account));
  };
  const signIn = async () => {
    if (await byId("sign-in").count()) {
      await byId("sign-in").click();
      await byId("signed-in").waitFor();
    }
  };
  const publish = async (title, pick) => {
    await page.goto(`${env.gateway}/#/`); // a fresh page, not the last publish's
    await page.goto(`${env.gateway}/#/publish`);
    await signIn();
    await byId("publish-form").waitFor();
    await pick();
    await byId("publish-title").fill(title);
    await byId("publish-description").fill("Encrypted in the browser (DDX1) before upload.");
    await byId("publish-tags").fill("rain, browser");
    await byId("publish-price").fill("3");
    await byId("publish-submit").click();
    await txDone(page.locator("main"));
    const link = byId("published-link");
    await link.waitFor();
    const [value, max] = await byId("progress").evaluate((bar) => [bar.value, bar.max]);
    check(value === max && max > 0, `upload progress bar full: ${value}/${max}`);
    return [await link.getAttribute("data-asset"), await byId("publish-stage").getAttribute("data-sha256")];
  };
  const buyAndDownload = async (assetId, title) => {
    await page.goto(`${env.gateway}/#/asset/${assetId}`);
    await page.waitForFunction((wanted) => document.querySelector('[data-testid="asset-title"]')?.textContent?.includes(wanted), title);
    const offers = byId("offers");
    await offers.locator('[data-testid="buy-permit"]').first().click();
    await txDone(offers);
    await signIn();
    const downloadEvent = page.waitForEvent("download");
    await byId("download-button").click();
    const download = await downloadEvent;
    const saved = join(output, `browser-published-${assetId}-${download.suggestedFilename()}`);
    await download.saveAs(saved);
    return [sha(readFileSync(saved)), download.suggestedFilename()];
  };

  step("publish a file and a folder from the browser: packed and encrypted here, uploaded with progress, published from the wallet");
  const data = randomBytes(SIZE);
  const folder = mkdtempSync(join(tmpdir(), "browser-folder-"));
  try {
    mkdirSync(join(folder, "stations", "north"), { recursive: true });
    writeFileSync(join(folder, "README.txt"), "Rain gauges, one CSV per station.\n");
    writeFileSync(join(folder, "stations", "north", "gauge-1.csv"), randomBytes(70_001));
    writeFileSync(join(folder, "stations", "south.csv"), randomBytes(600));
    const folderSha = cliPackedSha256(folder);
    await switchTo(env.publisher);
    const fileTitle = "Rain gauges, published from the browser";
    const [fileAsset, fileShown] = await publish(fileTitle, () =>
      byId("publish-file").setInputFiles({ name: "browser-rain.bin", mimeType: "application/octet-stream", buffer: data }));
    check(fileShown === sha(data), "the page hashed the file it encrypted");
    await shot("publish");
    mkdirSync(docsImg, { recursive: true });
    copyFileSync(join(output, "publish.png"), join(docsImg, "dapp-publish.png"));
    const folderTitle = "Rain stations, a folder published from the browser";
    const [folderAsset, folderShown] = await publish(folderTitle, () => byId("publish-folder").setInputFiles(folder));
    check(folderShown === folderSha, `the browser packed the folder as the CLI does: ${folderShown} != ${folderSha}`);

    step("the buyer buys both and downloads them: the file's sha256 is the original's, the folder's tar the CLI's");
    await switchTo(env.buyer);
    const [fileSaved, fileName] = await buyAndDownload(fileAsset, fileTitle);
    check(fileSaved === sha(data), `downloaded sha256 ${fileSaved} != published ${sha(data)}`);
    check(fileName === "browser-rain.bin", `file name ${fileName}`);
    const [folderSaved] = await buyAndDownload(folderAsset, folderTitle);
    check(folderSaved === folderSha, `downloaded tar ${folderSaved} != the CLI's packing ${folderSha}`);

    step("the publisher adds a version from the asset page (encrypted and uploaded here); the buyer downloads version 2");
    const data2 = randomBytes(40_000);
    await switchTo(env.publisher);
    await page.goto(`${env.gateway}/#/asset/${fileAsset}`);
    await byId("owner-new-version").click();
    await signIn();
    await byId("publish-form").waitFor();
    check((await byId("publish-title").inputValue()) === fileTitle, "the new version's form starts from the asset's metadata");
    await byId("publish-file").setInputFiles({ name: "browser-rain.bin", mimeType: "application/octet-stream", buffer: data2 });
    await byId("publish-submit").click();
    await txDone(page.locator("main"));
    const added = byId("published-link");
    await added.waitFor();
    check((await added.getAttribute("data-version")) === "2", `version added: ${await added.getAttribute("data-version")}`);
    // the gateway serves a version once its indexer has seen it (the page says so before)
    for (let tries = 0; ; tries++) {
      const detail = await (await fetch(`${env.gateway}/v1/assets/${fileAsset}`)).json();
      if (detail.versions?.length === 2) break;
      if (tries >= 120) throw new Error(`the catalog never showed version 2 of asset ${fileAsset}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await switchTo(env.buyer);
    await page.goto(`${env.gateway}/#/asset/${fileAsset}`);
    await byId("download").waitFor();  // the page reads the latest version from the chain
    await signIn();
    const downloadEvent = page.waitForEvent("download");
    await byId("download-button").click();
    const download = await downloadEvent;
    const saved = join(output, `browser-published-${fileAsset}-v2`);
    await download.saveAs(saved);
    check(sha(readFileSync(saved)) === sha(data2), "the buyer's download is version 2, byte for byte");
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
