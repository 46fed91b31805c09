// Keys that survive a gateway, from the browser (docs/DAPP.md, "Publish"): a second provider
// gateway joins the directory (e2e/second_gateway.py); the publisher makes a recovery key with
// the CLI and publishes a file from #/publish sealed to this gateway, the second one (ticked
// from the directory) and the recovery key (the `datadao keys recovery show` line pasted).
// Then `datadao decrypt` recovers the bytes with the recovery key alone (no gateway), and the
// buyer's `datadao download` through the second gateway gets the same bytes.
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const python = join(repo, ".venv", "bin", "python");
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");
const short = (account) => `${account.slice(0, 6)}…${account.slice(-4)}`;

function startSecondGateway(cliEnv) {
  const child = spawn(python, [join(repo, "frontend", "e2e", "second_gateway.py"), JSON.stringify(cliEnv)],
    { cwd: repo, stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, PYTHONPATH: repo } });
  const ready = new Promise((resolveReady, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const said = JSON.parse(line);
      if (said.error) reject(new Error(said.error));
      else resolveReady(said);
    });
    child.on("exit", (code) => reject(new Error(`the second gateway exited with ${code}`)));
  });
  ready.catch(() => undefined);
  return { ready, stop: () => { child.stdin.end(); child.kill("SIGTERM"); } };
}

export async function multisealFlow({ page, env, byId, txDone, step, check, output }) {
  const cli = (args, account = "publisher") => execFileSync(python, ["-m", "dapp.cli.main", ...args],
    { cwd: repo, env: { ...process.env, ...env.cliEnv, DAPP_ACCOUNT: account, PYTHONPATH: repo }, encoding: "utf8", timeout: 180_000 });
  const second = startSecondGateway(env.cliEnv);
  const folder = mkdtempSync(join(tmpdir(), "multiseal-"));
  try {
    step("multiseal: a second provider gateway joins the directory; the publisher creates a recovery key");
    const { url: secondUrl, provider } = await second.ready;
    const secondKey = (await (await fetch(`${secondUrl}/v1/gateway`)).json()).public_key;
    let listed = null;
    for (let i = 0; i < 120 && !listed?.public_key; i++) {
      const items = (await (await fetch(`${env.gateway}/v1/providers?keys=true`)).json()).items;
      listed = items.find((item) => item.address === provider) ?? null;
      if (!listed?.public_key) await new Promise((done) => setTimeout(done, 500));
    }
    check(listed?.public_key === secondKey, `the directory lists the second gateway with its key: ${JSON.stringify(listed)}`);
    const recovery = JSON.parse(cli(["keys", "recovery", "create", "--json"])).public_key;
    const shown = cli(["keys", "recovery", "show"]).trim();

    step("multiseal: publish from the browser sealed to this gateway, the second one and the recovery key");
    await page.evaluate((address) => window.__e2eWallet.setAccount(address), env.publisher);
    await page.waitForFunction((text) => document.querySelector('[data-testid="account"]')?.textContent === text, short(env.publisher));
    await page.goto(`${env.gateway}/#/`);
    await page.goto(`${env.gateway}/#/publish`);
    if (await byId("sign-in").count()) {
      await byId("sign-in").click();
      await byId("signed-in").waitFor();
    }
    await byId("publish-form").waitFor();
    const data = randomBytes(200_000);
    const file = join(folder, "tide-gauges.bin");
    writeFileSync(file, data);
    await byId("publish-file").setInputFiles(file);
    await byId("publish-title").fill("Tide gauges (sealed to two gateways)");
    await byId("publish-price").fill("2");
    await byId("publish-gateway-this").waitFor();
    check(await byId("publish-gateway-this").isChecked(), "this gateway is preselected");
    await byId(`publish-gateway-${provider.toLowerCase()}`).check();
    await byId("publish-recovery").fill(shown);
    await byId("publish-submit").click();
    await txDone(page.locator("main"));
    const link = byId("published-link");
    await link.waitFor();
    const assetId = await link.getAttribute("data-asset");

    const own = (await (await fetch(`${env.gateway}/v1/gateway`)).json()).public_key;
    const metadataCid = JSON.parse(cli(["assets", "show", assetId, "--json"])).metadata_cid;
    const metadata = JSON.parse(execFileSync(python, ["-c",
      "import sys; from dapp.ipfs.client import IpfsClient; print(IpfsClient(sys.argv[1], 30).cat_bytes(sys.argv[2]).decode())",
      env.cliEnv.DAPP_IPFS_API_URL, metadataCid], { cwd: repo, env: { ...process.env, PYTHONPATH: repo }, encoding: "utf8" }));
    const sealedTo = metadata.sealed_keys.map((entry) => entry.gateway_public_key);
    check(JSON.stringify(sealedTo) === JSON.stringify([own, secondKey, recovery]),
      `sealed to this gateway, the second, then the recovery key (as the CLI orders them): ${sealedTo.join(", ")}`);

    step("multiseal: `datadao decrypt` recovers the bytes with the recovery key; the second gateway serves the buyer");
    const decrypted = join(folder, "decrypted.bin");
    JSON.parse(cli(["decrypt", assetId, "-o", decrypted, "--json"]));
    check(sha(readFileSync(decrypted)) === sha(data), "datadao decrypt: the published bytes");
    cli(["license", "buy", assetId, "1", "--json"], "buyer");
    const downloaded = join(folder, "from-second.bin");
    cli(["download", assetId, "-o", downloaded, "--gateway", secondUrl, "--json"], "buyer");
    check(sha(readFileSync(downloaded)) === sha(data), "download through the second gateway: the published bytes");
  } finally {
    second.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}
