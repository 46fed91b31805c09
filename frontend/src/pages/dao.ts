// DataDAO: a DAO's shares, votes and proposals through the standard OpenZeppelin Governor and
// ERC20Votes interfaces, and the member's revenue. Shown only when this chain's deployment
// has the DataDAO contracts and this build has their ABIs; otherwise it says so.
import { getAddress, isAddress, parseAbi, parseAbiItem, type Address } from "viem";
import { GOVERNOR_ABI, PROPOSAL_STATES, VOTES_ABI, type ChainContext } from "../contracts";
import { formatTokenAmount, shortAddress } from "../format";
import { runTransaction } from "../tx";
import { button, errorNotice, h, notice, replace, txLine } from "../ui";
import type { PageContext } from "./page";

export const DAO_CONTRACTS = ["DataDAOFactory", "DataDAO"] as const;

const SHARES_REVENUE_ABI = parseAbi([
  "function revenueTokens() view returns (address[])",
  "function withdrawable(address token, address account) view returns (uint256)",
  "function withdraw(address token) returns (uint256)",
]);

const DAO_CREATED = parseAbiItem(
  "event DAOCreated(address indexed dao, address indexed shares, address indexed creator, string name, string symbol)",
);

const PROPOSAL_CREATED = parseAbiItem(
  "event ProposalCreated(uint256 proposalId, address proposer, address[] targets, uint256[] values, string[] signatures, bytes[] calldatas, uint256 voteStart, uint256 voteEnd, string description)",
);

/** Is any DataDAO contract both deployed here and known to this build? */
export function daoAvailable(chain: ChainContext): boolean {
  return DAO_CONTRACTS.some((name) => chain.has(name));
}

export async function renderDao(context: PageContext): Promise<void> {
  const { app, root, params } = context;
  replace(root, h("h1", {}, "DataDAO"));
  let chain: ChainContext;
  try {
    chain = app.chain();
  } catch (error) {
    root.append(errorNotice(error));
    return;
  }
  if (!daoAvailable(chain)) {
    root.append(notice("unavailable", "DataDAO is not deployed on this chain.",
      `This chain (${chain.chainId}) has ${chain.deployedNames().join(", ") || "no contracts"}; DataDAOs appear here once the DAO factory is deployed.`));
    return;
  }
  const address = h("input", { name: "dao", value: params.address ?? "", placeholder: "DAO address 0x…", "aria-label": "DAO address", size: 44 });
  const form = h("form", { class: "filters" }, address, h("button", { type: "submit" }, "Open"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.location.hash = `#/dao?address=${encodeURIComponent(address.value.trim())}`;
  });
  root.append(h("p", { class: "muted" }, "A DataDAO owns assets; members hold voting shares, vote on proposals and share its revenue."), form);
  if (params.address && isAddress(params.address)) await renderOneDao(context, chain, getAddress(params.address));
  else if (params.address) root.append(notice("error", `${params.address} is not an address.`));
  else await renderDaoList(context, chain);
}

/** Every DAO the factory made (its DAOCreated events). */
async function renderDaoList({ root, isCurrent }: PageContext, chain: ChainContext): Promise<void> {
  const list = h("section", { testid: "dao-list" }, h("h2", {}, "DataDAOs on this chain"), notice("info", "Reading the DAO factory…"));
  root.append(list);
  try {
    const factory = chain.contract("DataDAOFactory");
    const logs = await chain.publicClient.getLogs({
      address: factory.address,
      event: DAO_CREATED,
      fromBlock: BigInt(chain.deployment.contracts.DataDAOFactory?.block ?? 0),
      toBlock: "latest",
    });
    if (!isCurrent()) return;
    replace(list, h("h2", {}, "DataDAOs on this chain"), logs.length
      ? h("ul", {}, logs.map((log) => h("li", { testid: "dao-item" },
          h("a", { href: `#/dao?address=${log.args.dao}` }, log.args.name ?? "DAO"),
          ` (${log.args.symbol}) `, h("code", {}, shortAddress(log.args.dao)), ` created by ${shortAddress(log.args.creator)}`)))
      : notice("empty", "No DataDAO has been created yet.", "A DAO appears here once someone creates it through the DataDAOFactory."));
  } catch (error) {
    if (isCurrent()) replace(list, h("h2", {}, "DataDAOs on this chain"), errorNotice(error));
  }
}

async function renderOneDao({ app, root, isCurrent }: PageContext, chain: ChainContext, dao: Address): Promise<void> {
  const box = h("section", { testid: "dao" }, notice("info", "Reading the DAO…"));
  const status = txLine();
  root.append(box, status.element);
  const client = chain.publicClient;
  try {
    const [name, shares] = await Promise.all([
      client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "name" }),
      client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "token" }),
    ]);
    const symbol = await client.readContract({ address: shares, abi: VOTES_ABI, functionName: "symbol" });
    const decimals = await client.readContract({ address: shares, abi: VOTES_ABI, functionName: "decimals" });
    const meta = { symbol, decimals };
    const account = app.account as Address | null;
    const [supply, balance, votes] = await Promise.all([
      client.readContract({ address: shares, abi: VOTES_ABI, functionName: "totalSupply" }),
      account ? client.readContract({ address: shares, abi: VOTES_ABI, functionName: "balanceOf", args: [account] }) : 0n,
      account ? client.readContract({ address: shares, abi: VOTES_ABI, functionName: "getVotes", args: [account] }) : 0n,
    ]);
    const fromBlock = BigInt(Math.min(...Object.values(chain.deployment.contracts).map((c) => c.block)));
    const logs = await client.getLogs({ address: dao, event: PROPOSAL_CREATED, fromBlock, toBlock: "latest" });
    if (!isCurrent()) return;
    const send = (label: string, write: () => Promise<`0x${string}`>) =>
      runTransaction({ label, send: write, wait: (hash) => client.waitForTransactionReceipt({ hash }), onUpdate: status.update });
    const wallet = () => chain.walletClient();
    const proposals = await Promise.all(logs.map(async (log) => {
      const id = log.args.proposalId!;
      const state = await client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "state", args: [id] });
      const [against, forVotes, abstain] = await client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "proposalVotes", args: [id] });
      const vote = (support: number, label: string) => button(label, async () => {
        await send(`Vote ${label.toLowerCase()} on proposal ${id.toString().slice(0, 8)}…`, async () => {
          const { client: w, account: from } = wallet();
          return w.writeContract({ address: dao, abi: GOVERNOR_ABI, functionName: "castVote", args: [id, support], account: from, chain: chain.chain });
        });
      }, { class: "secondary" });
      return h("tr", {},
        h("td", {}, (log.args.description ?? "").split("\n")[0] || "(no description)"),
        h("td", {}, PROPOSAL_STATES[state] ?? String(state)),
        h("td", {}, `${formatTokenAmount(forVotes, meta)} for · ${formatTokenAmount(against, meta)} against · ${formatTokenAmount(abstain, meta)} abstain`),
        h("td", {}, state === 1 && account ? [vote(1, "For"), vote(0, "Against"), vote(2, "Abstain")] : ""));
    }));
    let revenue: HTMLElement | null = null;
    if (account) {
      try {
        const tokens = await client.readContract({ address: shares, abi: SHARES_REVENUE_ABI, functionName: "revenueTokens" });
        const rows = await Promise.all(tokens.map(async (token) => {
          const info = await chain.tokenInfo(token);
          const amount = await client.readContract({ address: shares, abi: SHARES_REVENUE_ABI, functionName: "withdrawable", args: [token, account] });
          return h("li", {}, `${formatTokenAmount(amount, info)} `, amount > 0n
            ? button(`Withdraw ${info.symbol}`, async () => {
                await send(`Withdraw ${info.symbol} from the DAO`, async () => {
                  const { client: w, account: from } = wallet();
                  return w.writeContract({ address: shares, abi: SHARES_REVENUE_ABI, functionName: "withdraw", args: [token], account: from, chain: chain.chain });
                });
              })
            : null);
        }));
        revenue = h("div", {}, h("h3", {}, "Your revenue"), rows.length ? h("ul", {}, rows) : h("p", { class: "muted" }, "no revenue tokens yet"));
      } catch {
        revenue = null; // shares without the revenue extension
      }
    }
    replace(box,
      h("h2", {}, name, " ", h("code", {}, shortAddress(dao))),
      h("dl", { class: "stats" },
        h("dt", {}, "shares"), h("dd", {}, `${formatTokenAmount(supply, meta)} in total`),
        h("dt", {}, "yours"), h("dd", {}, account ? formatTokenAmount(balance, meta) : "connect your wallet"),
        h("dt", {}, "your votes"), h("dd", {}, account ? formatTokenAmount(votes, meta) : "—")),
      account && balance > 0n && votes === 0n
        ? h("p", {}, "Your shares vote only once delegated. ", button("Delegate to myself", async () => {
            await send("Delegate your votes to yourself", async () => {
              const { client: w, account: from } = wallet();
              return w.writeContract({ address: shares, abi: VOTES_ABI, functionName: "delegate", args: [from], account: from, chain: chain.chain });
            });
          }))
        : null,
      revenue,
      h("h3", {}, "Proposals"),
      proposals.length
        ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "proposal"), h("th", {}, "state"), h("th", {}, "votes"), h("th", {}, ""))), h("tbody", {}, proposals))
        : h("p", { class: "muted" }, "No proposals yet."),
      h("p", {}, h("a", { href: `#/?dao=${dao}` }, "Assets owned by this DAO")),
    );
  } catch (error) {
    if (isCurrent()) replace(box, errorNotice(error));
  }
}
