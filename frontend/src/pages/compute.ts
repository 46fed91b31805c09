// Compute-to-data: escrow a payment for a job (dataset, algorithm, provider, deadline, in the
// token the buyer saw) on the ComputeMarket, follow it at the provider (this gateway) as it is
// accepted and run until its result is posted, read the result, and finalize it after the
// challenge window; cancel a job the provider has not accepted; withdraw what the market
// credited (refunds). Shown only when this chain has the ComputeMarket and this build has its
// ABI; otherwise it says so.
import { erc20Abi, getAddress, isAddress, type Address } from "viem";
import type { ComputeJob } from "../api";
import { withDecodedRevert, type ChainContext } from "../contracts";
import { sha256Hex } from "../download";
import { formatTokenAmount, parseAmount, shortAddress } from "../format";
import { disputeBond, jobDeadline, jobView, resultText, type ChainJob } from "../jobs";
import { jobRefusal } from "../policy";
import { runTransaction } from "../tx";
import { button, errorNotice, errorText, field, h, notice, replace, txLine } from "../ui";
import { pageChain, type PageContext } from "./page";

export const COMPUTE_CONTRACT = "ComputeMarket";
/** How often the job list is read again while a job is still moving. */
const FOLLOW_MS = 1500;

interface ProviderState {
  priceToken: Address;
  price: bigint;
  endpoint: string;
}

interface JobRow {
  id: bigint;
  buyer: Address;
  provider: Address;
  datasetId: bigint;
  token: Address;
  /** what a dispute's bond is computed from (ComputeMarket._bond) */
  price: { providerFee: bigint; dataFee: bigint; paramsId: number };
  chain: ChainJob;
}

/** Why the registry would refuse this job (one line), or null when `checkJob` passes. */
async function checkJob(chain: ChainContext, datasetId: bigint, algorithmId: bigint, buyer: Address): Promise<string | null> {
  const found = chain.tryFunction(["AssetRegistry"], ["checkJob"]);
  if (!found) return null; // an older registry: createJob's own checks still apply
  try {
    await chain.read(found, [datasetId, algorithmId, buyer]);
    return null;
  } catch (error) {
    return jobRefusal(withDecodedRevert(error, found.abi), datasetId, algorithmId);
  }
}

export async function renderCompute({ app, root, params, isCurrent }: PageContext): Promise<void> {
  replace(root, h("h1", {}, "Compute"));
  const reached = pageChain(app, root);
  if (!reached) return;
  const chain: ChainContext = reached; // narrowed for the page's hoisted functions too
  if (!chain.has(COMPUTE_CONTRACT)) {
    root.append(notice("unavailable", "The compute market is not deployed on this chain.",
      `This chain (${chain.chainId}) has ${chain.deployedNames().join(", ") || "no contracts"}; compute jobs appear here once the ComputeMarket is deployed.`));
    return;
  }
  const market = chain.contract(COMPUTE_CONTRACT);
  const client = chain.publicClient;
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    client.readContract({ address: market.address, abi: market.abi, functionName, args }) as Promise<T>;
  const chainNow = async () => (await client.getBlock({ blockTag: "latest" })).timestamp;
  // this gateway's own provider account, when it runs jobs: the default provider
  const gatewayProvider = await app.api.gatewayInfo().then((info) => (info.provider && isAddress(info.provider) ? getAddress(info.provider) : null), () => null);
  if (!isCurrent()) return;

  const dataset = h("input", { name: "dataset", value: params.dataset ?? "", inputmode: "numeric" });
  const algorithm = h("input", { name: "algorithm", value: params.algorithm ?? "", inputmode: "numeric" });
  const provider = h("input", { name: "provider", placeholder: "0x…", size: 44, value: params.provider ?? gatewayProvider ?? "" });
  const hours = h("input", { name: "hours", value: "24", inputmode: "numeric" });
  const maxPrice = h("input", { name: "maxPrice", value: "10", inputmode: "decimal" });
  const status = txLine();
  const fail = (message: string) => {
    status.element.dataset.phase = "failed";
    status.element.textContent = message;
  };
  const start = async () => {
    if (!/^\d+$/.test(dataset.value.trim()) || !/^\d+$/.test(algorithm.value.trim())) return fail("Enter the dataset's and the algorithm's asset ids.");
    if (!isAddress(provider.value.trim())) return fail("Enter the provider's address.");
    try {
      const providerAddress = getAddress(provider.value.trim());
      const datasetId = BigInt(dataset.value.trim());
      const algorithmId = BigInt(algorithm.value.trim());
      // the registry's own check (listed by the dataset's owner, COMPUTE licenses on the
      // dataset and the algorithm), read before anything is approved or sent
      const { account: buyer } = chain.walletClient();
      const refusal = await checkJob(chain, datasetId, algorithmId, buyer);
      if (refusal) return fail(refusal);
      const state = await read<ProviderState>("getProvider", [providerAddress]);
      if (BigInt(state.priceToken) === 0n) return fail(`${shortAddress(providerAddress)} is not a registered compute provider.`);
      const [, dataFee] = await read<readonly [Address, bigint]>("computeFee", [datasetId]);
      const cost = state.price + dataFee;
      const token = await chain.tokenInfo(state.priceToken);
      const accepted = parseAmount(maxPrice.value, token.decimals);
      if (cost > accepted) return fail(`This job costs ${formatTokenAmount(cost, token)} (provider fee and data fee), more than the ${formatTokenAmount(accepted, token)} you accept.`);
      const account = buyer;
      const allowance = await client.readContract({ address: token.address, abi: erc20Abi, functionName: "allowance", args: [account, market.address] });
      if (allowance < cost) {
        const approval = await runTransaction({
          label: `Approve ${formatTokenAmount(cost, token)} for the compute market`,
          send: () => chain.writeCall({ address: token.address, abi: erc20Abi, functionName: "approve", args: [market.address, cost] }),
          wait: (hash) => client.waitForTransactionReceipt({ hash }),
          onUpdate: status.update,
          token,
        });
        if (approval.phase !== "confirmed") return;
      }
      const marketParams = await read<{ maxJobDuration: number | bigint }>("params");
      const deadline = jobDeadline(await chain.transactionTime(), Number(hours.value), BigInt(marketParams.maxJobDuration));
      const found = chain.findFunction([COMPUTE_CONTRACT], ["createJob"], "ComputeMarket.createJob");
      const created = await runTransaction({
        label: "Start the compute job",
        token,
        send: () => chain.write(found, [datasetId, algorithmId, providerAddress, deadline, token.address, accepted]),
        wait: (hash) => client.waitForTransactionReceipt({ hash }),
        onUpdate: status.update,
      });
      if (created.phase === "confirmed") await loadJobs();
    } catch (error) {
      fail(errorText(error));
    }
  };
  root.append(
    h("section", { testid: "compute-new" }, h("h2", {}, "Run an algorithm on a dataset"),
      h("p", { class: "muted" }, "You need a COMPUTE license on the dataset and on the algorithm (unless you own it), and the dataset's owner must have listed the algorithm (see the dataset's page); this is checked before anything is sent. The payment waits in escrow until the provider posts the result and the challenge window passes. Until the provider accepts the job you may cancel it; once accepted, a missed deadline refunds you and pays you the provider's collateral. Refunds are credited to you in the market: withdraw them below."),
      field("dataset asset id", dataset), field("algorithm asset id", algorithm),
      field(gatewayProvider ? `provider (this gateway runs jobs as ${shortAddress(gatewayProvider)})` : "provider", provider),
      field("deadline (hours from now, by the chain's clock)", hours), field("most you pay", maxPrice),
      h("p", {}, button("Start job", start, { testid: "compute-start" })), status.element),
  );

  const jobs = h("section", { testid: "compute-jobs" }, h("h2", {}, "Jobs"), notice("info", "Reading jobs…"));
  const jobStatus = txLine();
  root.append(jobs, jobStatus.element);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loadJobs = async (): Promise<void> => {
    clearTimeout(timer);
    try {
      const { content, following } = await jobsContent();
      if (!isCurrent()) return;
      replace(jobs, h("h2", {}, "Jobs"), ...content);
      // follow jobs still moving at the provider; stop when the page is left
      if (following) timer = setTimeout(() => void (isCurrent() && loadJobs()), FOLLOW_MS);
    } catch (error) {
      if (isCurrent()) replace(jobs, h("h2", {}, "Jobs"), errorNotice(error));
    }
  };

  const finalize = (id: bigint) => async () => {
    const found = chain.findFunction([COMPUTE_CONTRACT], ["finalize"], "ComputeMarket.finalize");
    const result = await runTransaction({
      label: `Finalize job #${id}`,
      send: () => chain.write(found, [id]),
      wait: (hash) => client.waitForTransactionReceipt({ hash }),
      onUpdate: jobStatus.update,
    });
    if (result.phase === "confirmed") await loadJobs();
  };

  const cancel = (id: bigint) => async () => {
    const found = chain.findFunction([COMPUTE_CONTRACT], ["cancelJob"], "ComputeMarket.cancelJob");
    const result = await runTransaction({
      label: `Cancel job #${id}`,
      send: () => chain.write(found, [id]),
      wait: (hash) => client.waitForTransactionReceipt({ hash }),
      onUpdate: jobStatus.update,
    });
    if (result.phase === "confirmed") await loadJobs();
  };

  /** Dispute a posted result (the buyer, inside the challenge window): the bond is approved
   *  first; the arbiter then pays the provider or refunds the buyer. */
  const dispute = (row: JobRow) => async () => {
    try {
      const found = chain.findFunction([COMPUTE_CONTRACT], ["dispute"], "ComputeMarket.dispute");
      const params = await read<{ disputeBondBps: number }>("paramsAt", [row.price.paramsId]);
      const bond = disputeBond(row.price.providerFee, row.price.dataFee, params.disputeBondBps);
      const token = await chain.tokenInfo(row.token);
      if (bond > 0n) {
        const { account } = chain.walletClient();
        const allowance = await client.readContract({ address: token.address, abi: erc20Abi, functionName: "allowance", args: [account, market.address] });
        if (allowance < bond) {
          const approval = await runTransaction({
            label: `Approve the dispute bond of ${formatTokenAmount(bond, token)}`, token,
            send: () => chain.writeCall({ address: token.address, abi: erc20Abi, functionName: "approve", args: [market.address, bond] }),
            wait: (hash) => client.waitForTransactionReceipt({ hash }),
            onUpdate: jobStatus.update,
          });
          if (approval.phase !== "confirmed") return;
        }
      }
      const result = await runTransaction({
        label: `Dispute job #${row.id} (bond ${formatTokenAmount(bond, token)})`, token,
        send: () => chain.write(found, [row.id]),
        wait: (hash) => client.waitForTransactionReceipt({ hash }),
        onUpdate: jobStatus.update,
      });
      if (result.phase === "confirmed") await loadJobs();
    } catch (error) {
      jobStatus.element.dataset.phase = "failed";
      jobStatus.element.textContent = errorText(error);
    }
  };

  /** Expire a job whose deadline passed without a result: escrow (and, once accepted, the
   *  provider's collateral) credited to the buyer. */
  const expire = (id: bigint) => async () => {
    const found = chain.findFunction([COMPUTE_CONTRACT], ["expire"], "ComputeMarket.expire");
    const result = await runTransaction({
      label: `Expire job #${id}`,
      send: () => chain.write(found, [id]),
      wait: (hash) => client.waitForTransactionReceipt({ hash }),
      onUpdate: jobStatus.update,
    });
    if (result.phase === "confirmed") await loadJobs();
  };

  const withdraw = (token: Address, label: string) => async () => {
    const found = chain.findFunction([COMPUTE_CONTRACT], ["withdraw"], "ComputeMarket.withdraw");
    const result = await runTransaction({
      label: `Withdraw ${label}`,
      send: () => chain.write(found, [token]),
      wait: (hash) => client.waitForTransactionReceipt({ hash }),
      onUpdate: jobStatus.update,
    });
    if (result.phase === "confirmed") await loadJobs();
  };

  /** What the market credited the account (refunds, slashed collateral, bonds), per token. */
  async function creditsContent(account: Address, tokens: Address[]): Promise<HTMLElement | null> {
    const amounts = await Promise.all(tokens.map(async (token) => ({ token, amount: await read<bigint>("claimable", [account, token]) })));
    const owed = amounts.filter(({ amount }) => amount > 0n);
    if (!owed.length) return null;
    const lines = await Promise.all(owed.map(async ({ token, amount }) => {
      const info = await chain.tokenInfo(token);
      const label = formatTokenAmount(amount, info);
      return h("li", { testid: "credit", "data-token": token }, `${label} `, button("Withdraw", withdraw(token, label), { testid: "withdraw-credit", class: "secondary" }));
    }));
    return h("div", { testid: "compute-credits" }, h("h3", {}, "Credited to you"), h("ul", {}, ...lines));
  }

  const showResult = (id: bigint, onChainHash: string, into: HTMLElement) => async () => {
    replace(into, notice("info", `Reading the result of job #${id}…`));
    try {
      const bytes = await app.api.computeResult(id);
      const digest = await sha256Hex([bytes]);
      const text = resultText(bytes);
      const matches = digest.toLowerCase() === onChainHash.toLowerCase();
      replace(into,
        text !== null
          ? h("pre", { testid: "job-result" }, text)
          : h("p", { testid: "job-result" }, `${bytes.length} bytes (not text): `, h("a", { href: app.api.computeResultUrl(id) }, "download")),
        h("p", { testid: "job-result-check", class: matches ? "muted" : "error", "data-matches": String(matches) },
          matches ? `sha256 ${digest} — the result hash the provider committed to on chain.`
            : `sha256 ${digest} differs from the result hash on chain (${onChainHash}): do not trust this result; dispute the job.`));
    } catch (error) {
      replace(into, errorNotice(error));
    }
  };

  async function jobsContent(): Promise<{ content: HTMLElement[]; following: boolean }> {
    const [count, now] = await Promise.all([read<bigint>("jobCount"), chainNow()]);
    const ids = Array.from({ length: Math.min(Number(count), 20) }, (_, i) => count - BigInt(i));
    const account = app.account?.toLowerCase();
    const rows: JobRow[] = (await Promise.all(ids.map(async (id) => {
      const job = await read<Record<string, unknown>>("getJob", [id]);
      return {
        id, buyer: getAddress(String(job.buyer)), provider: getAddress(String(job.provider)), datasetId: BigInt(job.datasetId as bigint), token: getAddress(String(job.token)),
        price: { providerFee: BigInt(job.providerFee as bigint), dataFee: BigInt(job.dataFee as bigint), paramsId: Number(job.paramsId ?? 0) },
        chain: { status: Number(job.status ?? 0), deadline: BigInt(job.deadline as bigint), challengeEnd: BigInt(job.challengeEnd as bigint), resultHash: job.resultHash as `0x${string}` },
      };
    }))).filter((row) => !account || row.buyer.toLowerCase() === account);
    const credits = account ? await creditsContent(getAddress(account), [...new Set([await read<Address>("stakeToken"), ...rows.map((row) => row.token)])]) : null;
    if (!rows.length) return { content: [notice("empty", account ? "You have no compute jobs yet." : "No compute jobs yet."), ...(credits ? [credits] : [])], following: false };
    // the provider's view (queued, running, failed and why, the result): its buyer, signed in
    const signedIn = !!app.session && !!account;
    const atGateway = await Promise.all(rows.map((row) =>
      signedIn && gatewayProvider && row.provider === gatewayProvider ? app.api.computeJob(row.id).catch((): ComputeJob | null => null) : null));
    let following = false;
    const body = rows.map((row, index) => {
      const view = jobView(row.chain, atGateway[index] ?? null, now);
      following ||= view.following;
      const result = h("div", { class: "job-result" });
      return h("tr", { testid: "job", "data-job": row.id.toString(), "data-status": view.key },
        h("td", {}, `#${row.id}`),
        h("td", {}, `dataset #${row.datasetId}`, atGateway[index]?.algorithm_id ? ` · algorithm #${atGateway[index]!.algorithm_id}` : ""),
        h("td", {}, h("code", { title: row.provider }, shortAddress(row.provider))),
        h("td", {}, h("span", { testid: "job-status" }, view.text), result),
        h("td", {}, h("div", { class: "actions" },
          view.hasResult ? button("Show result", showResult(row.id, row.chain.resultHash, result), { testid: "show-result", class: "secondary" }) : null,
          view.canFinalize ? button("Finalize", finalize(row.id), { testid: "finalize" }) : null,
          view.canCancel && account ? button("Cancel", cancel(row.id), { testid: "cancel-job", class: "secondary" }) : null,
          view.canDispute && account ? button("Dispute", dispute(row), { testid: "dispute-job", class: "secondary" }) : null,
          view.canExpire ? button("Expire", expire(row.id), { testid: "expire-job", class: "secondary" }) : null)));
    });
    const content: (HTMLElement | null)[] = [
      h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "job"), h("th", {}, "inputs"), h("th", {}, "provider"), h("th", {}, "status"), h("th", {}, ""))), h("tbody", {}, body)),
      credits,
      signedIn ? null : h("p", { class: "muted", testid: "jobs-sign-in" }, "Sign in to follow your jobs at the provider and read their results."),
      h("p", {}, button("Refresh", loadJobs, { testid: "jobs-refresh", class: "secondary" })),
    ];
    return { content: content.filter((element): element is HTMLElement => element !== null), following };
  }

  await loadJobs();
}
