// Metered model calls, the buyer's side (what `datadao channel …` and `datadao invoke` do): pick
// a provider (GET /v1/providers), open a payment channel to it (approve + openChannel), top it
// up, extend it, reclaim what was not redeemed once it expired; call a model through the
// provider's gateway, each call paid with the next voucher signed in the wallet (src/metered.ts
// makes the checks), the running total shown. Channels are read from the market's
// ChannelOpened events for this account, their state from getChannel.
import { erc20Abi, getAddress, type Address, type Hex } from "viem";
import { problemFrom, type ProviderOut } from "../api";
import type { ChainContext, TokenMeta } from "../contracts";
import { formatTimestamp, formatTokenAmount, parseAmount, shortAddress } from "../format";
import { invokePaid, SignedVouchers, type ChannelOnChain, type GatewayTerms, type ProviderOnChain } from "../metered";
import { runTransaction } from "../tx";
import { button, errorNotice, errorText, field, h, notice, replace, txLine } from "../ui";
import { pageChain, type PageContext } from "./page";

const MARKET = "ComputeMarket";
const MAX_CHANNEL_AMOUNT = 2n ** 88n - 1n;
const HOUR = 3600n;

export async function renderChannels({ app, root, params, isCurrent }: PageContext): Promise<void> {
  replace(root, h("h1", {}, "Model calls"));
  const reached = pageChain(app, root);
  if (!reached) return;
  const chain: ChainContext = reached; // narrowed for the page's hoisted functions too
  if (!chain.has(MARKET)) {
    root.append(notice("unavailable", "The compute market is not deployed on this chain.", "Payment channels appear here once the ComputeMarket is deployed."));
    return;
  }
  const market = chain.contract(MARKET);
  const client = chain.publicClient;
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    client.readContract({ address: market.address, abi: market.abi, functionName, args }) as Promise<T>;
  const records = new SignedVouchers(window.localStorage);
  const account = app.account ? getAddress(app.account) : null;

  // --- providers ------------------------------------------------------------------------------
  const [listed, own] = await Promise.all([
    app.api.providers().then((body) => body.items, (error: unknown) => error),
    app.api.gatewayInfo().then((info) => info.provider, () => null),
  ]);
  if (!isCurrent()) return;
  const providers = Array.isArray(listed) ? (listed as ProviderOut[]) : [];
  let selected: ProviderOut | null =
    providers.find((p) => p.address.toLowerCase() === (params.provider ?? own ?? "").toLowerCase()) ?? providers[0] ?? null;
  const providerSection = h("section", { testid: "providers" }, h("h2", {}, "Providers"));
  root.append(providerSection);
  if (!Array.isArray(listed)) providerSection.append(errorNotice(listed));
  else if (!providers.length) providerSection.append(notice("empty", "No compute provider has registered yet."));
  else {
    const rows = await Promise.all(providers.map(async (p) => {
      const token = await chain.tokenInfo(p.token);
      const pick = h("input", { type: "radio", name: "provider", value: p.address, checked: p === selected, testid: "pick-provider" }) as HTMLInputElement;
      pick.addEventListener("change", () => {
        selected = p;
        void refreshInvokeDefaults();
      });
      return h("tr", { testid: "provider", "data-provider": getAddress(p.address) },
        h("td", {}, pick), h("td", {}, h("code", { title: p.address }, shortAddress(p.address)), own && p.address.toLowerCase() === own.toLowerCase() ? " (this gateway)" : ""),
        h("td", {}, formatTokenAmount(BigInt(p.price), token), " per call"), h("td", {}, formatTokenAmount(BigInt(p.stake), token), " staked"),
        h("td", {}, h("code", {}, p.endpoint)));
    }));
    providerSection.append(h("p", { class: "muted" }, "From the indexer; before anything is signed, the provider's price, token and endpoint are read again from the market contract."),
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "provider"), h("th", {}, "price"), h("th", {}, "stake"), h("th", {}, "gateway"))), h("tbody", {}, rows)));
  }
  if (!account) {
    root.append(notice("info", "Connect your wallet to open payment channels and pay for model calls."));
    return;
  }

  const onChainProvider = async (address: Address): Promise<ProviderOnChain> => {
    const state = await read<{ priceToken: Address; price: bigint; stake: bigint; endpoint: string }>("getProvider", [address]);
    return { priceToken: getAddress(state.priceToken), price: BigInt(state.price), stake: BigInt(state.stake), endpoint: state.endpoint };
  };
  const channelState = async (id: bigint): Promise<ChannelOnChain> => {
    const c = await read<{ buyer: Address; provider: Address; token: Address; deposit: bigint; expiry: bigint; redeemed: bigint }>("getChannel", [id]);
    return { id, buyer: getAddress(c.buyer), provider: getAddress(c.provider), token: getAddress(c.token), deposit: BigInt(c.deposit), expiry: BigInt(c.expiry), redeemed: BigInt(c.redeemed) };
  };
  const approveIfNeeded = async (token: TokenMeta, amount: bigint, update: ReturnType<typeof txLine>["update"]): Promise<boolean> => {
    const allowance = await client.readContract({ address: token.address, abi: erc20Abi, functionName: "allowance", args: [account, market.address] });
    if (allowance >= amount) return true;
    const approval = await runTransaction({
      label: `Approve ${formatTokenAmount(amount, token)} for the compute market`, token,
      send: () => chain.writeCall({ address: token.address, abi: erc20Abi, functionName: "approve", args: [market.address, amount] }),
      wait: (hash) => client.waitForTransactionReceipt({ hash }),
      onUpdate: update,
    });
    return approval.phase === "confirmed";
  };

  // --- open a channel -------------------------------------------------------------------------
  const deposit = h("input", { name: "deposit", value: "1", inputmode: "decimal" });
  const hours = h("input", { name: "hours", value: "168", inputmode: "numeric" });
  const openStatus = txLine();
  const openFail = (message: string) => Object.assign(openStatus.element, { textContent: message }).setAttribute("data-phase", "failed");
  const open = async () => {
    if (!selected) return openFail("Pick a provider first.");
    try {
      const provider = getAddress(selected.address);
      const state = await onChainProvider(provider);
      if (BigInt(state.priceToken) === 0n) return openFail(`${shortAddress(provider)} is not a registered provider on the market.`);
      const token = await chain.tokenInfo(state.priceToken);
      const amount = parseAmount(deposit.value, token.decimals);
      if (amount <= 0n || amount > MAX_CHANNEL_AMOUNT) return openFail(`The deposit must be above 0 and at most ${MAX_CHANNEL_AMOUNT} base units.`);
      const seconds = hoursOf(hours.value);
      if (seconds === null) return openFail("The channel's duration must be a positive whole number of hours.");
      if (!(await approveIfNeeded(token, amount, openStatus.update))) return;
      const expiry = (await chain.transactionTime()) + seconds;
      const opened = await runTransaction({
        label: `Open a channel of ${formatTokenAmount(amount, token)} to ${shortAddress(provider)}`, token,
        // in the token the buyer saw: a provider that switched it meanwhile makes this revert
        send: () => chain.writeCall({ address: market.address, abi: market.abi, functionName: "openChannel", args: [provider, token.address, amount, expiry] }),
        wait: (hash) => client.waitForTransactionReceipt({ hash }),
        onUpdate: openStatus.update,
      });
      if (opened.phase === "confirmed") await loadChannels();
    } catch (error) {
      openFail(errorText(error));
    }
  };
  root.append(h("section", { testid: "channel-open" }, h("h2", {}, "Open a payment channel"),
    h("p", { class: "muted" }, "The deposit waits in the market; the provider redeems the vouchers you sign per call. After the channel expires you reclaim what it did not redeem."),
    field("deposit", deposit), field("open for (hours)", hours),
    h("p", {}, button("Open channel", open, { testid: "open-channel" })), openStatus.element));

  // --- the account's channels ---------------------------------------------------------------------
  const channelsBox = h("section", { testid: "channels" }, h("h2", {}, "Your channels"));
  const channelStatus = txLine();
  root.append(channelsBox, channelStatus.element);
  let mine: ChannelOnChain[] = [];
  const channelSelect = h("select", { name: "channel", testid: "invoke-channel" }) as HTMLSelectElement;

  async function loadChannels(): Promise<void> {
    try {
      const events = await client.getContractEvents({
        address: market.address, abi: market.abi, eventName: "ChannelOpened", args: { buyer: account },
        fromBlock: BigInt(chain.deployment.contracts[MARKET]?.block ?? 0),
      });
      const ids = [...new Set(events.map((event) => BigInt((event as unknown as { args: { channelId: bigint } }).args.channelId)))].sort((a, b) => (a < b ? 1 : -1));
      const [states, now] = await Promise.all([Promise.all(ids.map(channelState)), chain.transactionTime()]);
      if (!isCurrent()) return;
      mine = states;
      replace(channelsBox, h("h2", {}, "Your channels"), ...(states.length ? [await channelTable(states, now)] : [notice("empty", "You have no payment channels yet.")]));
      const previous = channelSelect.value;
      replace(channelSelect, ...states.filter((c) => c.expiry > now && c.deposit > c.redeemed).map((c) => h("option", { value: c.id.toString() }, `#${c.id} to ${shortAddress(c.provider)}`)));
      if (params.channel || previous) channelSelect.value = previous || params.channel!;
    } catch (error) {
      if (isCurrent()) replace(channelsBox, h("h2", {}, "Your channels"), errorNotice(error));
    }
  }

  /** `prepare` checks the input and approves what is needed first (false: stop there). */
  const channelAction = (label: string, call: (token: TokenMeta) => Promise<Hex>, channel: ChannelOnChain,
    prepare: (token: TokenMeta) => Promise<boolean> = async () => true) => async () => {
    try {
      const token = await chain.tokenInfo(channel.token);
      if (!(await prepare(token))) return;
      const result = await runTransaction({
        label, token,
        send: () => call(token),
        wait: (hash) => client.waitForTransactionReceipt({ hash }),
        onUpdate: channelStatus.update,
      });
      if (result.phase === "confirmed") await loadChannels();
    } catch (error) {
      channelStatus.element.dataset.phase = "failed";
      channelStatus.element.textContent = errorText(error);
    }
  };

  async function channelTable(states: ChannelOnChain[], now: bigint): Promise<HTMLElement> {
    const rows = await Promise.all(states.map(async (c) => {
      const token = await chain.tokenInfo(c.token);
      const record = records.get(SignedVouchers.key(chain.chainId, market.address, c.id));
      const expired = now > c.expiry;
      const reclaimable = expired && c.deposit > c.redeemed;
      const amountInput = h("input", { name: "top-up", value: "1", size: 6, inputmode: "decimal", testid: "top-up-amount" }) as HTMLInputElement;
      const hoursInput = h("input", { name: "extend", value: "24", size: 4, inputmode: "numeric", testid: "extend-hours" }) as HTMLInputElement;
      const topUpAmount = (info: TokenMeta) => {
        const amount = parseAmount(amountInput.value, info.decimals);
        if (amount <= 0n || c.deposit + amount > MAX_CHANNEL_AMOUNT) throw new RangeError(`The amount must be above 0, and a channel holds at most ${MAX_CHANNEL_AMOUNT} base units.`);
        return amount;
      };
      const topUp = channelAction(`Top up channel #${c.id}`,
        async (info) => chain.writeCall({ address: market.address, abi: market.abi, functionName: "topUp", args: [c.id, topUpAmount(info)] }),
        c, (info) => approveIfNeeded(info, topUpAmount(info), channelStatus.update));
      const extend = channelAction(`Extend channel #${c.id}`, async () => {
        const seconds = hoursOf(hoursInput.value);
        if (seconds === null) throw new RangeError("Extend by a positive whole number of hours.");
        const base = c.expiry > now ? c.expiry : now;
        return chain.writeCall({ address: market.address, abi: market.abi, functionName: "extend", args: [c.id, base + seconds] });
      }, c);
      const reclaim = channelAction(`Reclaim channel #${c.id}`, () => chain.writeCall({ address: market.address, abi: market.abi, functionName: "reclaim", args: [c.id] }), c);
      const state = reclaimable ? "expired — reclaim what was not redeemed" : expired ? "expired, settled" : `open until ${formatTimestamp(c.expiry)}`;
      return h("tr", { testid: "channel", "data-channel": c.id.toString(), "data-deposit": c.deposit.toString(), "data-redeemed": c.redeemed.toString(), "data-expiry": c.expiry.toString() },
        h("td", {}, `#${c.id}`), h("td", {}, h("code", { title: c.provider }, shortAddress(c.provider))),
        h("td", { testid: "channel-deposit" }, formatTokenAmount(c.deposit, token)),
        h("td", {}, `${formatTokenAmount(c.redeemed, token)} redeemed · ${formatTokenAmount(record.accepted, token)} paid here (signed at most ${formatTokenAmount(record.signed, token)})`),
        h("td", { testid: "channel-state" }, state),
        h("td", {}, h("div", { class: "actions" },
          expired ? null : [amountInput, button("Top up", topUp, { testid: "top-up", class: "secondary" })],
          expired ? null : [hoursInput, button("Extend", extend, { testid: "extend", class: "secondary" })],
          reclaimable ? button("Reclaim", reclaim, { testid: "reclaim" }) : null)));
    }));
    return h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "channel"), h("th", {}, "provider"), h("th", {}, "deposit"), h("th", {}, "paid"), h("th", {}, "state"), h("th", {}, ""))), h("tbody", {}, rows));
  }

  // --- paid calls -------------------------------------------------------------------------------
  const model = h("input", { name: "model", value: params.model ?? "", inputmode: "numeric" });
  const body = h("textarea", { name: "body", rows: 3, cols: 50 }, params.body ?? '{"day": 12}') as HTMLTextAreaElement;
  const maxPrice = h("input", { name: "maxPrice", value: "", inputmode: "decimal" });
  const invokeStatus = h("p", { class: "tx", testid: "invoke-status", role: "status" });
  const output = h("pre", { testid: "invoke-result" });
  const total = h("p", { testid: "running-total" });
  async function refreshInvokeDefaults(): Promise<void> {
    if (!selected) return;
    const token = await chain.tokenInfo(selected.token);
    maxPrice.value = formatTokenAmount(BigInt(selected.price), token, token.decimals).split(" ")[0]!;
  }
  const invoke = async () => {
    invokeStatus.dataset.phase = "wallet";
    invokeStatus.textContent = "Checking the provider's terms against the chain, then sign the voucher in your wallet…";
    try {
      if (!/^\d+$/.test(model.value.trim())) throw new RangeError("Enter the model's asset id.");
      if (!channelSelect.value) throw new RangeError("Open a channel to the provider first.");
      const channelId = BigInt(channelSelect.value);
      const channel = mine.find((c) => c.id === channelId);
      const provider = getAddress(channel?.provider ?? selected?.address ?? "");
      const token = await chain.tokenInfo(channel?.token ?? selected!.token);
      const limit = parseAmount(maxPrice.value, token.decimals);
      const { client: wallet } = chain.walletClient();
      const result = await invokePaid({
        chainId: chain.chainId, market: market.address, account, records,
        terms: async (endpoint) => fetchJson<GatewayTerms>(`${endpoint}/v1/provider`),
        provider: onChainProvider,
        channel: channelState,
        sign: (typed) => wallet.signTypedData({ account, ...typed }),
        post: (url, text, headers) => fetch(url, { method: "POST", body: text, headers }),
        problem: problemFrom,
      }, { provider, modelId: BigInt(model.value.trim()), channelId, body: body.value, maxPrice: limit });
      replace(output, result.text);
      const calls = result.price ? result.cumulative / result.price : 0n;
      total.dataset.cumulative = result.cumulative.toString();
      total.dataset.channel = channelId.toString();
      replace(total, `Channel #${channelId} has paid ${formatTokenAmount(result.cumulative, token)} in all (${calls} × ${formatTokenAmount(result.price, token)}).`);
      invokeStatus.dataset.phase = "confirmed";
      invokeStatus.textContent = `Paid ${formatTokenAmount(result.price, token)} for this call.`;
      await loadChannels();
    } catch (error) {
      invokeStatus.dataset.phase = "failed";
      invokeStatus.textContent = errorText(error);
    }
  };
  root.append(h("section", { testid: "invoke" }, h("h2", {}, "Call a model"),
    h("p", { class: "muted" }, "You need a COMPUTE license on the model (buy it on the model's page). Each call signs a voucher for one more price on the channel; nothing is signed above your maximum per call, above the channel's deposit, or on terms the chain does not confirm."),
    field("model asset id", model), field("request (JSON)", body), field("channel", channelSelect), field("most you pay per call", maxPrice),
    h("p", {}, button("Call the model", invoke, { testid: "invoke-model" })), invokeStatus, total, output));
  await refreshInvokeDefaults();
  await loadChannels();
}

function hoursOf(text: string): bigint | null {
  return /^\s*\d{1,6}\s*$/.test(text) && Number(text) > 0 ? BigInt(text.trim()) * HOUR : null;
}

async function fetchJson<T>(url: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch {
    throw new Error(`Could not reach the provider's gateway at ${new URL(url).origin}.`);
  }
  if (!response.ok) throw await problemFrom(response);
  return (await response.json()) as T;
}
