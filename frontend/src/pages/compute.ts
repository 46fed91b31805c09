// Compute-to-data: escrow a payment for a job (dataset, algorithm, provider, deadline) on the
// ComputeMarket and follow it. Shown only when this chain has the ComputeMarket and this build
// has its ABI; otherwise it says so.
import { erc20Abi, getAddress, isAddress, type Address } from "viem";
import type { ChainContext } from "../contracts";
import { parseAmount } from "../format";
import { runTransaction } from "../tx";
import { button, errorNotice, errorText, field, h, notice, replace, txLine } from "../ui";
import type { PageContext } from "./page";

export const COMPUTE_CONTRACT = "ComputeMarket";
/** IComputeMarket.JobStatus, in words. */
export const JOB_STATUS = ["none", "open (escrowed, waiting for the result)", "result submitted (challenge window running)", "disputed", "finalized (paid)", "refunded"];

export async function renderCompute({ app, root, params, isCurrent }: PageContext): Promise<void> {
  replace(root, h("h1", {}, "Compute"));
  let chain: ChainContext;
  try {
    chain = app.chain();
  } catch (error) {
    root.append(errorNotice(error));
    return;
  }
  if (!chain.has(COMPUTE_CONTRACT)) {
    root.append(notice("unavailable", "The compute market is not deployed on this chain.",
      `This chain (${chain.chainId}) has ${chain.deployedNames().join(", ") || "no contracts"}; compute jobs appear here once the ComputeMarket is deployed.`));
    return;
  }
  const market = chain.contract(COMPUTE_CONTRACT);
  const client = chain.publicClient;
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    client.readContract({ address: market.address, abi: market.abi, functionName, args } as never) as Promise<T>;

  const dataset = h("input", { name: "dataset", value: params.dataset ?? "", inputmode: "numeric" });
  const algorithm = h("input", { name: "algorithm", value: params.algorithm ?? "", inputmode: "numeric" });
  const provider = h("input", { name: "provider", placeholder: "0x…", size: 44 });
  const hours = h("input", { name: "hours", value: "24", inputmode: "numeric" });
  const maxPrice = h("input", { name: "maxPrice", value: "10", inputmode: "decimal" });
  const status = txLine();
  const start = async () => {
    if (!isAddress(provider.value.trim())) {
      status.element.textContent = "Enter the provider's address.";
      return;
    }
    try {
      const token = app.paymentTokens[0];
      if (!token) throw new Error("no payment token known on this chain");
      const price = parseAmount(maxPrice.value, token.decimals);
      const { client: wallet, account } = chain.walletClient();
      const allowance = await client.readContract({ address: token.address, abi: erc20Abi, functionName: "allowance", args: [account, market.address] });
      if (allowance < price) {
        const approval = await runTransaction({
          label: `Approve ${maxPrice.value} ${token.symbol} for the compute market`,
          send: () => wallet.writeContract({ address: token.address, abi: erc20Abi, functionName: "approve", args: [market.address, price], account, chain: chain.chain }),
          wait: (hash) => client.waitForTransactionReceipt({ hash }),
          onUpdate: status.update,
          token,
        });
        if (approval.phase !== "confirmed") return;
      }
      const deadline = BigInt(Math.floor(Date.now() / 1000) + Number(hours.value) * 3600);
      const found = chain.findFunction([COMPUTE_CONTRACT], ["createJob"], "ComputeMarket.createJob");
      await runTransaction({
        label: "Start the compute job",
        token,
        send: () => chain.write(found, [BigInt(dataset.value), BigInt(algorithm.value), getAddress(provider.value.trim()), deadline, price]),
        wait: (hash) => client.waitForTransactionReceipt({ hash }),
        onUpdate: status.update,
      });
    } catch (error) {
      status.element.dataset.phase = "failed";
      status.element.textContent = errorText(error);
    }
  };
  root.append(
    h("section", { testid: "compute-new" }, h("h2", {}, "Run an algorithm on a dataset"),
      h("p", { class: "muted" }, "The payment waits in escrow until the provider posts the result and the challenge window passes; a missed deadline refunds you."),
      field("dataset asset id", dataset), field("algorithm asset id", algorithm), field("provider", provider),
      field("deadline (hours)", hours), field("most you pay", maxPrice),
      h("p", {}, button("Start job", start, { testid: "compute-start" })), status.element),
  );

  const jobs = h("section", { testid: "compute-jobs" }, h("h2", {}, "Jobs"), notice("info", "Reading jobs…"));
  root.append(jobs);
  try {
    const count = Number(await read<bigint>("jobCount"));
    const ids = Array.from({ length: Math.min(count, 20) }, (_, i) => BigInt(count - i));
    const rows = await Promise.all(ids.map(async (id) => {
      const job = await read<Record<string, unknown>>("getJob", [id]);
      const buyer = String(job.buyer ?? "");
      const state = Number(job.status ?? 0);
      return { id, buyer, state, result: job.resultCid };
    }));
    if (!isCurrent()) return;
    const account = app.account?.toLowerCase();
    const mine = rows.filter((row) => !account || row.buyer.toLowerCase() === account);
    replace(jobs, h("h2", {}, "Jobs"), mine.length
      ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "job"), h("th", {}, "buyer"), h("th", {}, "status"))),
          h("tbody", {}, mine.map((row) => h("tr", {}, h("td", {}, `#${row.id}`), h("td", {}, h("code", {}, row.buyer as Address)), h("td", {}, JOB_STATUS[row.state] ?? String(row.state))))))
      : notice("empty", account ? "You have no compute jobs yet." : "No compute jobs yet."));
  } catch (error) {
    if (isCurrent()) replace(jobs, h("h2", {}, "Jobs"), errorNotice(error));
  }
}
