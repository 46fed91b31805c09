// DataDAO: a DAO's members, shares, votes and proposals through the standard OpenZeppelin
// Governor and ERC20Votes interfaces — propose a call, vote, queue, execute — and the member's
// revenue. Shown only when this chain's deployment has the DataDAO contracts and this build has
// their ABIs; otherwise it says so.
import { getAddress, isAddress, isHex, keccak256, parseAbi, parseAbiItem, toBytes, type Address, type Hash } from "viem";
import { GOVERNOR_ABI, VOTES_ABI, type ChainContext } from "../contracts";
import { formatTimestamp, formatTokenAmount, shortAddress } from "../format";
import { membersFromTransfers, proposalStateName, proposalStateText, proposalStep, shareOfSupply, SUPPORT } from "../governance";
import { runTransaction } from "../tx";
import { button, errorNotice, field, h, notice, replace, txLine } from "../ui";
import { pageChain, type PageContext } from "./page";

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
  const reached = pageChain(app, root);
  if (!reached) return;
  const chain: ChainContext = reached; // narrowed for the page's hoisted functions too
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
  root.append(h("p", { class: "muted" }, "A DataDAO owns assets; members hold voting shares, vote on proposals and share its revenue. ",
    h("a", { href: "#/dao/new", testid: "dao-new-link" }, "Create a DataDAO")), form);
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

const SHARE_TRANSFER = parseAbiItem("event Transfer(address indexed from, address indexed to, uint256 value)");
const VOTE_CAST = parseAbiItem("event VoteCast(address indexed voter, uint256 proposalId, uint8 support, uint256 weight, string reason)");

type Send = (label: string, write: () => Promise<Hash>) => Promise<void>;

async function renderOneDao({ app, root, isCurrent }: PageContext, chain: ChainContext, dao: Address): Promise<void> {
  const box = h("section", { testid: "dao" }, notice("info", "Reading the DAO…"));
  const status = txLine();
  root.append(box, status.element);
  const client = chain.publicClient;
  const load = async () => {
    try {
      const content = await daoContent(app.account as Address | null, chain, dao, send, load);
      if (isCurrent()) replace(box, ...content);
    } catch (error) {
      if (isCurrent()) replace(box, errorNotice(error));
    }
  };
  // every confirmed transaction re-reads the DAO: states, votes and members change
  const send: Send = async (label, write) => {
    const result = await runTransaction({ label, send: write, wait: (hash) => client.waitForTransactionReceipt({ hash }), onUpdate: status.update });
    if (result.phase === "confirmed" && isCurrent()) await load();
  };
  await load();
}

/** Everything the DAO section shows, read fresh from the chain. */
async function daoContent(account: Address | null, chain: ChainContext, dao: Address, send: Send, reload: () => Promise<void>): Promise<HTMLElement[]> {
  const client = chain.publicClient;
  const [name, shares] = await Promise.all([
    client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "name" }),
    client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "token" }),
  ]);
  const [symbol, decimals, supply, balance, votes, latest] = await Promise.all([
    client.readContract({ address: shares, abi: VOTES_ABI, functionName: "symbol" }),
    client.readContract({ address: shares, abi: VOTES_ABI, functionName: "decimals" }),
    client.readContract({ address: shares, abi: VOTES_ABI, functionName: "totalSupply" }),
    account ? client.readContract({ address: shares, abi: VOTES_ABI, functionName: "balanceOf", args: [account] }) : 0n,
    account ? client.readContract({ address: shares, abi: VOTES_ABI, functionName: "getVotes", args: [account] }) : 0n,
    client.getBlock({ blockTag: "latest" }),
  ]);
  const meta = { symbol, decimals };
  const fromBlock = BigInt(Math.min(...Object.values(chain.deployment.contracts).map((c) => c.block)));
  const [members, proposals] = await Promise.all([
    membersSection(chain, shares, fromBlock, supply, meta, account),
    proposalsSection(chain, dao, fromBlock, latest.timestamp, meta, account, send),
  ]);
  let revenue: HTMLElement | null = null;
  if (account) {
    try {
      const tokens = await client.readContract({ address: shares, abi: SHARES_REVENUE_ABI, functionName: "revenueTokens" });
      const rows = await Promise.all(tokens.map(async (token) => {
        const info = await chain.tokenInfo(token);
        const amount = await client.readContract({ address: shares, abi: SHARES_REVENUE_ABI, functionName: "withdrawable", args: [token, account] });
        return h("li", {}, `${formatTokenAmount(amount, info)} `, amount > 0n
          ? button(`Withdraw ${info.symbol}`, async () => {
              await send(`Withdraw ${info.symbol} from the DAO`, () =>
                chain.writeCall({ address: shares, abi: SHARES_REVENUE_ABI, functionName: "withdraw", args: [token] }));
            })
          : null);
      }));
      revenue = h("div", {}, h("h3", {}, "Your revenue"), rows.length ? h("ul", {}, rows) : h("p", { class: "muted" }, "no revenue tokens yet"));
    } catch {
      revenue = null; // shares without the revenue extension
    }
  }
  return [
    h("h2", {}, name, " ", h("code", {}, shortAddress(dao))),
    h("dl", { class: "stats" },
      h("dt", {}, "shares"), h("dd", {}, `${formatTokenAmount(supply, meta)} in total`),
      h("dt", {}, "yours"), h("dd", { testid: "dao-your-shares" }, account ? formatTokenAmount(balance, meta) : "connect your wallet"),
      h("dt", {}, "your votes"), h("dd", {}, account ? formatTokenAmount(votes, meta) : "—"),
      h("dt", {}, "chain time"), h("dd", { testid: "dao-chain-time" }, formatTimestamp(latest.timestamp))),
    account && balance > 0n && votes === 0n
      ? h("p", {}, "Your shares vote only once delegated. ", button("Delegate to myself", async () => {
          await send("Delegate your votes to yourself", () =>
            chain.writeCall({ address: shares, abi: VOTES_ABI, functionName: "delegate", args: [chain.walletClient().account] }));
        }))
      : null,
    revenue,
    members,
    proposals,
    h("p", { class: "actions" },
      button("Refresh", reload, { testid: "dao-refresh", class: "secondary" }),
      // the catalog's owner filter: the DAO is the owner of the assets it published or received
      h("a", { href: `#/?owner=${dao}`, testid: "dao-assets" }, "Assets owned by this DAO")),
    account ? proposeForm(chain, dao, send) : h("p", { class: "muted" }, "Connect your wallet to propose or vote."),
  ].filter((element): element is HTMLElement => element !== null);
}

/** The holders of the share token, from its Transfer events, with their votes now. */
async function membersSection(chain: ChainContext, shares: Address, fromBlock: bigint, supply: bigint,
  meta: { symbol: string; decimals: number }, account: Address | null): Promise<HTMLElement> {
  const client = chain.publicClient;
  const logs = await client.getLogs({ address: shares, event: SHARE_TRANSFER, fromBlock, toBlock: "latest" });
  const members = membersFromTransfers(logs.map((log) => ({ from: log.args.from!, to: log.args.to!, value: log.args.value! })));
  const votes = await Promise.all(members.map((member) =>
    client.readContract({ address: shares, abi: VOTES_ABI, functionName: "getVotes", args: [member.address] })));
  const you = account?.toLowerCase();
  return h("div", { testid: "dao-members" }, h("h3", {}, `Members (${members.length})`), members.length
    ? h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "member"), h("th", {}, "shares"), h("th", {}, "of all shares"), h("th", {}, "votes"))),
        h("tbody", {}, members.map((member, index) => h("tr", { testid: "dao-member", "data-address": member.address },
          h("td", {}, h("code", { title: member.address }, member.address), member.address.toLowerCase() === you ? " (you)" : ""),
          h("td", { testid: "member-shares" }, formatTokenAmount(member.shares, meta)),
          h("td", {}, shareOfSupply(member.shares, supply)),
          h("td", {}, formatTokenAmount(votes[index]!, meta))))))
    : h("p", { class: "muted" }, "No members hold shares."));
}

/** Every proposal (ProposalCreated events) with its state at the chain's time and its next step. */
async function proposalsSection(chain: ChainContext, dao: Address, fromBlock: bigint, now: bigint,
  meta: { symbol: string; decimals: number }, account: Address | null, send: Send): Promise<HTMLElement> {
  const client = chain.publicClient;
  const [logs, myVotes] = await Promise.all([
    client.getLogs({ address: dao, event: PROPOSAL_CREATED, fromBlock, toBlock: "latest" }),
    account ? client.getLogs({ address: dao, event: VOTE_CAST, args: { voter: account }, fromBlock, toBlock: "latest" }) : Promise.resolve([]),
  ]);
  const supportOf = new Map(myVotes.map((log) => [log.args.proposalId!, log.args.support!]));
  const governor = { address: dao, abi: GOVERNOR_ABI } as const;
  const rows = await Promise.all(logs.map(async (log) => {
    const id = log.args.proposalId!;
    const short = `${id.toString().slice(0, 8)}…`;
    const [state, [against, forVotes, abstain], eta, needsQueuing] = await Promise.all([
      client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "state", args: [id] }),
      client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "proposalVotes", args: [id] }),
      client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "proposalEta", args: [id] }),
      client.readContract({ address: dao, abi: GOVERNOR_ABI, functionName: "proposalNeedsQueuing", args: [id] }),
    ]);
    const voted = supportOf.get(id);
    const timing = { state, voteStart: log.args.voteStart!, voteEnd: log.args.voteEnd!, eta, needsQueuing, now, hasVoted: voted !== undefined };
    const step = account ? proposalStep(timing) : null;
    const calls = [log.args.targets!, log.args.values!, log.args.calldatas!, keccak256(toBytes(log.args.description ?? ""))] as const;
    const actions: (HTMLElement | string)[] = [];
    if (voted !== undefined) actions.push(h("span", { testid: "you-voted" }, `you voted ${SUPPORT.find((s) => s.value === voted)?.label ?? voted}`));
    if (step === "vote") {
      for (const { value, label } of SUPPORT) {
        actions.push(button(label, () => send(`Vote ${label.toLowerCase()} on proposal ${short}`,
          () => chain.writeCall({ ...governor, functionName: "castVote", args: [id, value] })),
          { testid: `vote-${label.toLowerCase()}`, class: value === 1 ? "" : "secondary" }));
      }
    } else if (step === "queue") {
      actions.push(button("Queue", () => send(`Queue proposal ${short}`,
        () => chain.writeCall({ ...governor, functionName: "queue", args: calls })), { testid: "queue" }));
    } else if (step === "execute") {
      actions.push(button("Execute", () => send(`Execute proposal ${short}`,
        () => chain.writeCall({ ...governor, functionName: "execute", args: calls })), { testid: "execute" }));
    }
    return h("tr", { testid: "proposal", "data-proposal": id.toString(), "data-state": proposalStateName(state) },
      h("td", {}, (log.args.description ?? "").split("\n")[0] || "(no description)",
        h("br"), h("span", { class: "muted" }, `${log.args.targets!.length} call(s) · by ${shortAddress(log.args.proposer)}`)),
      h("td", { testid: "proposal-state" }, proposalStateText(timing)),
      h("td", { testid: "proposal-votes" }, `${formatTokenAmount(forVotes, meta)} for · ${formatTokenAmount(against, meta)} against · ${formatTokenAmount(abstain, meta)} abstain`),
      h("td", {}, h("div", { class: "actions" }, actions)));
  }));
  return h("div", { testid: "dao-proposals" }, h("h3", {}, "Proposals"), rows.length
    ? h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "proposal"), h("th", {}, "state"), h("th", {}, "votes"), h("th", {}, ""))), h("tbody", {}, rows.reverse()))
    : h("p", { class: "muted" }, "No proposals yet."));
}

/** One call for the DAO to make, e.g. what `datadao publish PATH --dao ADDRESS --json` prints. */
function proposeForm(chain: ChainContext, dao: Address, send: Send): HTMLElement {
  const target = h("input", { name: "target", placeholder: "0x… (the contract to call)", size: 44 });
  const calldata = h("textarea", { name: "calldata", rows: 3, cols: 60, placeholder: "0x… (ABI-encoded call)" });
  const description = h("input", { name: "description", size: 60, placeholder: "what the call does, for the members" });
  const problem = h("p", { class: "error", role: "alert", testid: "propose-error" });
  const propose = async () => {
    problem.textContent = "";
    const to = target.value.trim();
    const data = calldata.value.trim();
    if (!isAddress(to)) return void (problem.textContent = "The target must be a contract address (0x… and 40 hex digits).");
    if (!isHex(data) || data.length < 10) return void (problem.textContent = "The calldata must be hex starting with a 4-byte selector (0x12345678…).");
    if (!description.value.trim()) return void (problem.textContent = "Describe the proposal: members vote on what it says.");
    await send("Propose the call to the DAO", () => chain.writeCall({ address: dao, abi: GOVERNOR_ABI, functionName: "propose",
      args: [[getAddress(to)], [0n], [data], description.value.trim()] }));
  };
  return h("div", { testid: "dao-propose" },
    h("h3", {}, "New proposal"),
    h("p", { class: "muted" }, "One call the DAO makes if the vote passes. ", h("code", {}, `datadao publish PATH --dao ${dao} --json`),
      " prints the target and calldata that publish an asset as the DAO."),
    field("target", target), field("calldata", calldata), field("description", description),
    h("p", {}, button("Propose", propose, { testid: "propose" })), problem);
}
