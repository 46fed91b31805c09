// Publish from the browser (#/publish): one file or a folder (packed as the CLI packs it), encrypted here under a fresh content key that
// is sealed to each gateway ticked (this one preselected, others from the directory `GET /v1/providers?keys=true`)
// and to the publisher's recovery key if pasted (the metadata is what `datadao publish --gateway THIS --provider P…`
// writes), uploaded to the gateway with a progress bar for every byte,
// its metadata stored, then `publish` sent from the wallet with one offer; the new asset's page
// is linked once the catalog has indexed it. Folders with long or non-ASCII names need the CLI.
// `#/publish?version-of=ID`: the same pipeline adds a version to the owner's asset (`addVersion`).
import { parseEventLogs, parseUnits, type Address } from "viem";
import type { AssetKind, GatewayApi, ProviderOut, Scope } from "../api";
import { formatBytes } from "../format";
import { folderFiles } from "../packing";
import { checkForm, KINDS, parseRecoveryKey, PublishInputError, SCOPES, sealingRecipients, uploadSource, type PublishForm,
         type Source } from "../publish";
import { runTransaction } from "../tx";
import { button, errorText, field, h, notice, progressBar, replace, txLine } from "../ui";
import type { PageContext } from "./page";

const INDEX_WAIT_MS = 60_000;

export async function renderPublish({ app, root, params, isCurrent }: PageContext): Promise<void> {
  const versionOf = /^[1-9]\d{0,18}$/.test(params["version-of"] ?? "") ? BigInt(params["version-of"]!) : null;
  replace(root, h("h1", {}, versionOf === null ? "Publish" : `A new version of asset #${versionOf}`),
    h("p", { class: "muted" },
      "A file or a folder, encrypted in this browser before it leaves it; only the gateways you tick (and your recovery key) can open its key. ",
      "A folder is packed as the CLI packs it (its empty folders left out); one with long or non-ASCII names needs the CLI: ",
      h("code", {}, "datadao publish FOLDER")));
  if (!app.account) {
    root.append(notice("info", "Connect your wallet to publish."));
    return;
  }
  if (!app.session) {
    root.append(notice("info", "Sign in to publish: the gateway takes uploads from signed-in accounts only."));
    return;
  }
  const tokens = app.paymentTokens;
  const fileInput = h("input", { type: "file", name: "file", testid: "publish-file" }) as HTMLInputElement;
  const folderInput = h("input", { type: "file", name: "folder", testid: "publish-folder", webkitdirectory: true }) as HTMLInputElement;
  const title = h("input", { name: "title", testid: "publish-title", maxlength: 200, required: true }) as HTMLInputElement;
  const description = h("textarea", { name: "description", testid: "publish-description" }) as HTMLTextAreaElement;
  const tags = h("input", { name: "tags", testid: "publish-tags", placeholder: "weather, rain" }) as HTMLInputElement;
  const kind = h("select", { name: "kind", testid: "publish-kind" }, KINDS.map((k) => h("option", { value: k }, k))) as HTMLSelectElement;
  const license = h("input", { name: "license", testid: "publish-license", value: "CC-BY-4.0" }) as HTMLInputElement;
  const token = h("select", { name: "token", testid: "publish-token" },
    tokens.map((t) => h("option", { value: t.address }, t.symbol))) as HTMLSelectElement;
  const price = h("input", { name: "price", testid: "publish-price", value: "10", inputmode: "decimal" }) as HTMLInputElement;
  const days = h("input", { name: "days", testid: "publish-days", value: "0", type: "number", min: 0 }) as HTMLInputElement;
  const scope = h("select", { name: "scope", testid: "publish-scope" }, SCOPES.map((s) => h("option", { value: s }, s))) as HTMLSelectElement;
  if (versionOf !== null) {
    let existing;
    try {
      existing = await app.api.asset(versionOf);
    } catch (error) {
      root.append(notice("error", errorText(error)));
      return;
    }
    if (existing.owner.toLowerCase() !== app.account.toLowerCase()) {
      root.append(notice("error", `Asset #${versionOf} is not this account's: only its owner adds versions.`));
      return;
    }
    title.value = existing.title;
    description.value = existing.description;
    tags.value = existing.tags.join(", ");
    kind.value = existing.kind;
    kind.disabled = true;
  }
  const sealing = gatewayChoice(app.api);
  const recoveryKey = h("input", { name: "recovery", testid: "publish-recovery", size: 60,
                                   placeholder: "what `datadao keys recovery show` prints" }) as HTMLInputElement;
  const message = h("p", { class: "error", role: "alert", testid: "publish-error" });
  const progress = progressBar();
  const stage = h("p", { testid: "publish-stage", role: "status" });
  const status = txLine();
  const result = h("div", { testid: "publish-result" });
  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    if (file) folderInput.value = "";
    if (file && !title.value) title.value = file.name;
  });
  folderInput.addEventListener("change", () => {
    const first = folderInput.files?.[0] as (File & { webkitRelativePath?: string }) | undefined;
    if (first) fileInput.value = "";
    if (first && !title.value) title.value = first.webkitRelativePath?.split("/")[0] ?? "";
  });

  const publish = async (): Promise<void> => {
    // a second publish from the same page starts clean: nothing of the last one stays shown
    message.textContent = "";
    stage.textContent = "";
    delete stage.dataset.sha256;
    replace(result);
    status.element.textContent = "";
    delete status.element.dataset.phase;
    progress.set(0, 1, "");
    const folder = folderInput.files?.length ? folderFiles(folderInput.files) : null;
    const file = folder ? (folder[0]!.file as File) : fileInput.files?.[0] ?? null;
    const source: Source | null = folder ? { kind: "folder", files: folder } : file ? { kind: "file", file } : null;
    const form: PublishForm = { title: title.value, description: description.value, kind: kind.value as AssetKind,
                                tags: tags.value, license: license.value };
    const selected = tokens.find((t) => t.address === token.value);
    let terms: { token: Address; price: bigint; duration: bigint; scope: number } | undefined;
    let recipients: string[];
    try {
      checkForm(form, file, !!folder);
      const chosen = await sealing.chosen();
      if (!chosen.length) throw new PublishInputError("Tick at least one gateway to seal the content key to.");
      recipients = sealingRecipients(chosen, parseRecoveryKey(recoveryKey.value));
      if (!selected && versionOf === null) throw new Error("The registry accepts no payment token yet.");
      if (!/^\d+(\.\d+)?$/.test(price.value.trim())) throw new Error("The price is not a number.");
      if (!/^\d+(\.\d+)?$/.test(days.value.trim() || "0")) throw new Error("The duration is not a number of days.");
      if (selected) {
        const units = parseUnits(price.value.trim(), selected.decimals);
        const duration = BigInt(Math.round(Number(days.value || "0") * 86_400));
        if (units <= 0n) throw new Error("Give a price above 0.");
        terms = { token: selected.address as Address, price: units, duration, scope: SCOPES.indexOf(scope.value as Scope) };
      }
    } catch (error) {
      message.textContent = errorText(error);
      return;
    }
    let uploaded;
    try {
      uploaded = await uploadSource(app.api, source!, form, (sent, total) =>
        progress.set(sent, total, `${formatBytes(sent)} of ${formatBytes(total)} encrypted and uploaded`),
        (text) => { stage.textContent = text; }, recipients);
    } catch (error) {
      stage.textContent = "";
      message.textContent = errorText(error);
      return;
    }
    stage.textContent = `Uploaded: content ${uploaded.contentCid}, metadata ${uploaded.metadataCid}.`;
    stage.dataset.sha256 = uploaded.sha256;
    const chain = app.chain();
    const found = versionOf === null ? chain.findFunction(["AssetRegistry"], ["publish"], "Publishing")
      : chain.findFunction(["AssetRegistry"], ["addVersion"], "Adding a version");
    let logs: unknown[] = [];
    const sent = await runTransaction({
      label: versionOf === null ? `Publish "${form.title}"` : `Add a version to asset #${versionOf}`,
      send: () => versionOf === null
        ? chain.write(found, [KINDS.indexOf(form.kind), uploaded.content, uploaded.metadata, 0, [terms]])
        : chain.write(found, [versionOf, uploaded.content, uploaded.metadata]),
      wait: async (hash) => {
        const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
        logs = receipt.logs;
        return receipt;
      },
      onUpdate: status.update,
    });
    if (sent.phase !== "confirmed") return;
    if (versionOf !== null) {
      const added = parseEventLogs({ abi: found.abi, logs: logs as never, eventName: "VersionAdded" }) as unknown as
        { args: { version: number } }[];
      replace(result, h("p", {}, `Version ${added[0]?.args.version ?? "?"} of `,
        h("a", { href: `#/asset/${versionOf}`, testid: "published-link", "data-asset": String(versionOf),
                 "data-version": String(added[0]?.args.version ?? "") }, `asset #${versionOf}`), " is on chain."));
      return;
    }
    const events = parseEventLogs({ abi: found.abi, logs: logs as never, eventName: "AssetPublished" }) as unknown as
      { args: { assetId: bigint } }[];
    const assetId = events[0]?.args.assetId;
    if (assetId === undefined) {
      message.textContent = "The transaction is confirmed but names no new asset.";
      return;
    }
    replace(result, notice("info", `Asset #${assetId} is on chain; waiting for the catalog to index it…`));
    const until = Date.now() + INDEX_WAIT_MS;
    while (Date.now() < until && isCurrent()) {
      try {
        await app.api.asset(assetId);
        replace(result, h("p", {}, "Published: ",
          h("a", { href: `#/asset/${assetId}`, testid: "published-link", "data-asset": String(assetId) }, `asset #${assetId}`)));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    if (isCurrent()) replace(result, h("p", {}, `Asset #${assetId} is published; the catalog has not indexed it yet. `,
      h("a", { href: `#/asset/${assetId}`, testid: "published-link", "data-asset": String(assetId) }, "Open its page")));
  };

  root.append(h("form", { class: "publish", testid: "publish-form", onsubmit: (event: Event) => event.preventDefault() },
    field("File", fileInput), field("or a folder", folderInput), field("Title", title), field("Description", description), field("Tags (comma-separated)", tags),
    field("Kind", kind), field("License", license),
    h("fieldset", { testid: "publish-sealing" }, h("legend", {}, "Gateways that may serve it"), sealing.element,
      field("Your recovery key (optional)", recoveryKey),
      h("p", { class: "muted" }, "Each ticked gateway gets its own sealed copy of the content key; with your recovery key ",
        h("code", {}, "datadao decrypt"), " and ", h("code", {}, "datadao reseal"), " work without any gateway.")),
    versionOf === null ? h("fieldset", {}, h("legend", {}, "Offer"), field("Token", token), field("Price", price),
      field("Duration in days (0 = perpetual)", days), field("License scope", scope))
      : h("p", { class: "muted" }, "The asset's offers stay as they are (change them on its page)."),
    button(versionOf === null ? "Encrypt, upload and publish" : "Encrypt, upload and add the version", publish, { testid: "publish-submit" }),
  ), message, progress.element, stage, status.element, result);
}

/** Checkboxes: this gateway (ticked), then each provider of the directory whose gateway named it
 *  with a key (in the directory's order); `chosen()` lists the ticked keys in that order. A
 *  directory that cannot be read leaves this gateway alone. */
function gatewayChoice(api: GatewayApi): { element: HTMLElement; chosen: () => Promise<string[]> } {
  const element = h("div", { testid: "publish-gateways" }, h("p", { class: "muted" }, "Reading the gateway directory…"));
  const boxes: HTMLInputElement[] = [];
  const box = (key: string, checked: boolean, label: string, testid: string): HTMLElement => {
    const input = h("input", { type: "checkbox", value: key, testid }) as HTMLInputElement;
    input.checked = checked;
    boxes.push(input);
    return h("label", { class: "check" }, input, " ", label);
  };
  const loaded = (async () => {
    try {
      const own = await api.gatewayInfo();
      const rows = [box(own.public_key, true, `This gateway (${own.url})`, "publish-gateway-this")];
      let listed: ProviderOut[] = [];
      try {
        listed = (await api.providers(true)).items;
      } catch {
        listed = [];
      }
      for (const provider of listed) {
        if (provider.public_key === own.public_key) continue;
        rows.push(provider.public_key
          ? box(provider.public_key, false, `${provider.endpoint} (provider ${provider.address}, stake ${provider.stake})`,
                `publish-gateway-${provider.address.toLowerCase()}`)
          : h("p", { class: "muted" }, `${provider.endpoint} (provider ${provider.address}): did not say its key`));
      }
      replace(element, ...rows);
    } catch (error) {
      replace(element, h("p", { class: "error" }, errorText(error)));
    }
  })();
  return { element, chosen: async () => {
    await loaded; // a publish clicked before the list is shown waits for it
    return boxes.filter((input) => input.checked).map((input) => input.value);
  } };
}
