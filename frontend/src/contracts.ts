// viem clients and contract handles built from the gateway's GET /v1/deployment: no address is
// written into the dApp. ABIs come from the @datadao/abi package (packages/abi, generated from
// the build by `make abi`); a deployed contract the package has no ABI for says "not deployed yet".
import {
  createPublicClient,
  createWalletClient,
  custom,
  decodeErrorResult,
  defineChain,
  erc20Abi,
  getAddress,
  http,
  parseAbi,
  type Abi,
  type AbiFunction,
  type Address,
  type Chain,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type ContractFunctionParameters,
  type GetValue,
  type Hash,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { abis, erc20Errors, permitAbi, withErc20Errors } from "@datadao/abi";
import type { Deployment } from "./api";
import { errorChain, NotDeployedError, WrongNetworkError } from "./errors";
import { chainName } from "./format";
import type { WalletConnection } from "./wallet";

/** `{AssetRegistry: [...abi]}` from ABI files (bare ABI arrays or Brownie/Hardhat artifacts). */
export function abisFromFiles(files: Record<string, unknown>): Record<string, Abi> {
  const result: Record<string, Abi> = {};
  for (const [path, content] of Object.entries(files)) {
    const name = path.split("/").pop()!.replace(/\.json$/, "");
    // export_abis.py writes the bare ABI array; accept a Brownie/Hardhat artifact too
    const abi = Array.isArray(content) ? content : (content as { abi?: unknown })?.abi;
    if (Array.isArray(abi)) result[name] = abi as Abi;
  }
  return result;
}

/** Every contract's ABI the package publishes, by contract name. */
export const BUILT_ABIS: Record<string, Abi> = { ...abis };

/** The contracts the dApp talks to, by the names the contract engineers deploy them under. */
export const CONTRACT_NAMES = ["AssetRegistry", "TestToken", "ComputeMarket", "DataDAO", "DataDAOFactory"] as const;

/** OpenZeppelin 5 ERC-20 errors: appended to every ABI so a token's revert inside a registry
 *  call (not enough balance, allowance) decodes by name. */
export const ERC20_ERRORS = erc20Errors;

/**
 * `error` with its custom error decoded when viem left it raw: ganache answers a reverted
 * eth_call / eth_estimateGas with code -32000 and the revert data as `data` (hex) or
 * `data.result`, which viem does not decode (it does for code 3). Without this, a front-run
 * offer (OfferTermsChanged) read "no reason given".
 */
export function withDecodedRevert(error: unknown, abi: Abi): unknown {
  const chain = errorChain(error);
  if (chain.some((link) => typeof (link.data as { errorName?: unknown } | undefined)?.errorName === "string")) return error;
  for (const link of chain) {
    const data = link.data as unknown;
    const raw = typeof data === "string" ? data : (data as { result?: unknown } | undefined)?.result;
    if (typeof raw !== "string" || !/^0x[0-9a-fA-F]{8}/.test(raw)) continue;
    try {
      const decoded = decodeErrorResult({ abi: withErrors(abi), data: raw as Hex });
      return Object.assign(new Error(`The contract reverted: ${decoded.errorName}`), {
        name: "ContractFunctionRevertedError",
        data: { errorName: decoded.errorName, args: decoded.args ?? [] },
        cause: error,
      });
    } catch {
      // not one of this contract's errors: keep looking, else leave it as it is
    }
  }
  return error;
}

/** EIP-2612 permit, for permit+buy in one transaction. */
export const PERMIT_ABI = permitAbi;

/** OpenZeppelin 5 Governor (+ counting, votes): the DataDAO is one, so this reads any DAO even
 *  before DataDAO.json lands. */
export const GOVERNOR_ABI = parseAbi([
  "function name() view returns (string)",
  "function token() view returns (address)",
  "function state(uint256 proposalId) view returns (uint8)",
  "function proposalSnapshot(uint256 proposalId) view returns (uint256)",
  "function proposalDeadline(uint256 proposalId) view returns (uint256)",
  "function proposalEta(uint256 proposalId) view returns (uint256)",
  "function proposalNeedsQueuing(uint256 proposalId) view returns (bool)",
  "function proposalVotes(uint256 proposalId) view returns (uint256 againstVotes, uint256 forVotes, uint256 abstainVotes)",
  "function hasVoted(uint256 proposalId, address account) view returns (bool)",
  "function quorum(uint256 timepoint) view returns (uint256)",
  "function clock() view returns (uint48)",
  "function castVote(uint256 proposalId, uint8 support) returns (uint256)",
  "function propose(address[] targets, uint256[] values, bytes[] calldatas, string description) returns (uint256)",
  "function queue(address[] targets, uint256[] values, bytes[] calldatas, bytes32 descriptionHash) returns (uint256)",
  "function execute(address[] targets, uint256[] values, bytes[] calldatas, bytes32 descriptionHash) payable returns (uint256)",
  "event ProposalCreated(uint256 proposalId, address proposer, address[] targets, uint256[] values, string[] signatures, bytes[] calldatas, uint256 voteStart, uint256 voteEnd, string description)",
  "event VoteCast(address indexed voter, uint256 proposalId, uint8 support, uint256 weight, string reason)",
  "error GovernorUnexpectedProposalState(uint256 proposalId, uint8 current, bytes32 expectedStates)",
  "error GovernorAlreadyCastVote(address voter)",
  "error GovernorInsufficientProposerVotes(address proposer, uint256 votes, uint256 threshold)",
  "error GovernorNonexistentProposal(uint256 proposalId)",
  "error GovernorInvalidProposalLength(uint256 targets, uint256 calldatas, uint256 values)",
  "error GovernorRestrictedProposer(address proposer)",
  "error GovernorQueueNotImplemented()",
  "error GovernorOnlyExecutor(address account)",
  // the DataDAO's own: execute before queue / before the execution delay passed
  "error ProposalNotQueued(uint256 proposalId)",
  "error ProposalNotReady(uint256 proposalId, uint256 eta)",
]);

/** ERC20Votes: the DAO's shares. */
export const VOTES_ABI = parseAbi([
  "function balanceOf(address account) view returns (uint256)",
  "function totalSupply() view returns (uint256)",
  "function symbol() view returns (string)",
  "function decimals() view returns (uint8)",
  "function getVotes(address account) view returns (uint256)",
  "function delegates(address account) view returns (address)",
  "function delegate(address delegatee)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
]);

export const PROPOSAL_STATES = [
  "pending",
  "active",
  "canceled",
  "defeated",
  "succeeded",
  "queued",
  "expired",
  "executed",
] as const;

export const withErrors: (abi: Abi) => Abi = withErc20Errors;

export function chainOf(deployment: Pick<Deployment, "chain_id" | "rpc_url">): Chain {
  return defineChain({
    id: deployment.chain_id,
    name: chainName(deployment.chain_id),
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [deployment.rpc_url] } },
  });
}

export interface ContractHandle {
  name: string;
  address: Address;
  abi: Abi;
}

type WriteMutability = "nonpayable" | "payable";

/** viem's own parameters of a state-changing call, plus `value` where the function is payable. */
export type WriteCall<
  abi extends Abi = Abi,
  functionName extends ContractFunctionName<abi, WriteMutability> = ContractFunctionName<abi, WriteMutability>,
  args extends ContractFunctionArgs<abi, WriteMutability, functionName> = ContractFunctionArgs<abi, WriteMutability, functionName>,
> = ContractFunctionParameters<abi, WriteMutability, functionName, args> & GetValue<abi, functionName>;

/** A call on an ABI known only at run time (the build's JSON): any function name and arguments. */
type AnyWriteCall = { address: Address; abi: Abi; functionName: string; args?: readonly unknown[]; value?: bigint };

/** What ChainContext needs of the connected wallet (a WalletConnection; a fake in unit tests). */
export type ChainWallet = Pick<WalletConnection, "account" | "chainId" | "provider" | "isOn">;

export interface FoundFunction extends ContractHandle {
  functionName: string;
  item: AbiFunction;
}

/** Argument names as the page knows them → the names contracts commonly give them. */
export const ARGUMENT_ALIASES: Record<string, string[]> = {
  assetId: ["assetid", "asset", "id", "tokenid", "datasetid"],
  offerId: ["offerid", "offerindex", "offer"],
  maxPrice: ["maxprice", "maxamount", "pricelimit", "expectedprice", "maxcost"],
  amount: ["amount", "value", "shares"],
  token: ["token", "currency", "paymenttoken", "asset_token"],
  account: ["account", "recipient", "to", "buyer", "licensee", "beneficiary", "staker", "owner", "user"],
  deadline: ["deadline", "permitdeadline", "validuntil"],
  v: ["v"],
  r: ["r"],
  s: ["s"],
  signature: ["signature", "sig", "permitsignature"],
  algorithmId: ["algorithmid", "algorithm", "algoid"],
  datasetId: ["datasetid", "dataset", "dataid"],
  provider: ["provider", "computeprovider", "worker"],
  payment: ["payment", "price", "escrow", "fee", "amount"],
  jobId: ["jobid", "job", "id"],
  jobDeadline: ["deadline", "jobdeadline", "until"],
};

function normal(name: string): string {
  return name.replace(/^_+/, "").toLowerCase();
}

/** Arguments for `item` from named values, matched through ARGUMENT_ALIASES. */
export function bindArguments(item: AbiFunction, values: Record<string, unknown>, label: string): unknown[] {
  return item.inputs.map((input, position) => {
    const wanted = normal(input.name ?? "");
    for (const [key, aliases] of Object.entries(ARGUMENT_ALIASES)) {
      if (key in values && (normal(key) === wanted || aliases.includes(wanted))) return values[key];
    }
    if (wanted in values) return values[wanted];
    throw new NotDeployedError(
      `${label}: argument ${position + 1} (${input.name || input.type}) of ${item.name} is not something this page knows how to fill`,
    );
  });
}

/** The deployment's contracts, clients on the deployment's chain, and the wallet to sign with. */
export class ChainContext {
  readonly chain: Chain;
  readonly publicClient: PublicClient;

  constructor(
    readonly deployment: Deployment,
    private readonly wallet: ChainWallet | null,
    private readonly abis: Record<string, Abi> = BUILT_ABIS,
  ) {
    this.chain = chainOf(deployment);
    // Reads go through the wallet when it is on our chain (its RPC is what the user trusts and
    // can reach); otherwise through the RPC the gateway names.
    const transport = wallet && wallet.isOn(deployment.chain_id) ? custom(wallet.provider) : http(deployment.rpc_url);
    this.publicClient = createPublicClient({ chain: this.chain, transport }) as PublicClient;
  }

  get chainId(): number {
    return this.deployment.chain_id;
  }

  deployedNames(): string[] {
    return Object.keys(this.deployment.contracts).sort();
  }

  /** Deployed and with an ABI in this build. */
  has(name: string): boolean {
    return name in this.deployment.contracts && name in this.abis;
  }

  contract(name: string): ContractHandle {
    const deployed = this.deployment.contracts[name];
    if (!deployed) throw new NotDeployedError(`The ${name} contract`);
    const abi = this.abis[name];
    if (!abi) throw new NotDeployedError(`The ${name} contract's interface (ABI)`);
    return { name, address: getAddress(deployed.address), abi: withErrors(abi) };
  }

  /** The first of `candidates` that one of `contracts` has: names drift while contracts land. */
  findFunction(contracts: readonly string[], candidates: readonly string[], label: string): FoundFunction {
    for (const name of contracts) {
      if (!this.has(name)) continue;
      const handle = this.contract(name);
      for (const candidate of candidates) {
        const item = handle.abi.find(
          (entry): entry is AbiFunction => entry.type === "function" && entry.name === candidate,
        );
        if (item) return { ...handle, functionName: candidate, item };
      }
    }
    throw new NotDeployedError(label);
  }

  tryFunction(contracts: readonly string[], candidates: readonly string[]): FoundFunction | null {
    try {
      return this.findFunction(contracts, candidates, "");
    } catch {
      return null;
    }
  }

  /** A wallet client on this chain, or WrongNetworkError / a plain error without a wallet. */
  walletClient(): { client: WalletClient; account: Address } {
    if (!this.wallet || !this.wallet.account) throw new Error("Connect your wallet first.");
    if (!this.wallet.isOn(this.chainId)) throw new WrongNetworkError(this.chainId, this.wallet.chainId);
    const client = createWalletClient({
      chain: this.chain,
      transport: custom(this.wallet.provider),
      account: this.wallet.account,
    });
    return { client, account: this.wallet.account };
  }

  /**
   * Simulate (so a revert is explained before the wallet opens), then send with a gas margin:
   * a call that tries something and catches its failure (buyWithPermit's permit) can be
   * estimated just below what it needs, when the inner call then fails for want of gas.
   */
  async write(found: FoundFunction, args: readonly unknown[], value?: bigint): Promise<Hash> {
    return this.writeCall({ address: found.address, abi: found.abi, functionName: found.functionName, args, value });
  }

  /**
   * `write` for a contract known by address and ABI rather than by deployment name (a DataDAO
   * and its share token, made by the factory). Never leave the gas to the wallet: some do not
   * estimate (ganache's default limit is 90,000, and a vote or an execute needs more).
   * With a typed ABI (`parseAbi`, `erc20Abi`, `as const`) the compiler checks the function
   * name, the arguments and whether `value` may be sent; a build ABI (`Abi`) takes any.
   */
  async writeCall<
    const abi extends Abi,
    functionName extends ContractFunctionName<abi, WriteMutability>,
    const args extends ContractFunctionArgs<abi, WriteMutability, functionName>,
  >(call: WriteCall<abi, functionName, args>): Promise<Hash>;
  async writeCall(call: AnyWriteCall): Promise<Hash> {
    const { client, account } = this.walletClient();
    const full = { ...call, account };
    try {
      const { request } = await this.publicClient.simulateContract(full);
      const estimate = await this.publicClient.estimateContractGas(full);
      return await client.writeContract({ ...request, gas: withGasMargin(estimate) });
    } catch (error) {
      throw withDecodedRevert(error, call.abi);
    }
  }

  /** `transactionTime` for this chain's latest block and the browser's clock now. */
  async transactionTime(): Promise<bigint> {
    const latest = await this.publicClient.getBlock({ blockTag: "latest" });
    return transactionTime(latest.timestamp, Date.now());
  }

  async read<T>(found: FoundFunction, args: readonly unknown[]): Promise<T> {
    return (await this.publicClient.readContract({
      address: found.address,
      abi: found.abi,
      functionName: found.functionName,
      args,
    })) as T;
  }

  async tokenInfo(address: string): Promise<TokenMeta> {
    const token = getAddress(address);
    const cached = tokenCache.get(`${this.chainId}:${token}`);
    if (cached) return cached;
    const read = (functionName: "symbol" | "decimals") =>
      this.publicClient.readContract({ address: token, abi: erc20Abi, functionName }).catch(() => null);
    const [symbol, decimals] = await Promise.all([read("symbol"), read("decimals")]);
    const info: TokenMeta = {
      address: token,
      symbol: typeof symbol === "string" && symbol ? symbol : `${token.slice(0, 6)}…`,
      decimals: typeof decimals === "number" ? decimals : 18,
    };
    tokenCache.set(`${this.chainId}:${token}`, info);
    return info;
  }

  async tokenBalance(token: string, account: Address): Promise<bigint> {
    return this.publicClient.readContract({
      address: getAddress(token),
      abi: erc20Abi,
      functionName: "balanceOf",
      args: [account],
    });
  }
}

/**
 * The time a transaction sent now will see as `block.timestamp`, for deadlines (permits, jobs):
 * the later of the latest block's time and the browser's clock. A dev chain moved forward
 * (evm_increaseTime) or a computer clock running late puts the chain ahead; an idle dev chain
 * that mines only on demand has an old latest block, and its next one gets the current time.
 */
export function transactionTime(latestBlockTimestamp: bigint, browserMs: number): bigint {
  const browser = BigInt(Math.floor(browserMs / 1000));
  return latestBlockTimestamp > browser ? latestBlockTimestamp : browser;
}

/** +25 % and 20k: enough for try/catch sub-calls, far below any block limit. */
export function withGasMargin(estimate: bigint): bigint {
  return estimate + estimate / 4n + 20_000n;
}

export interface TokenMeta {
  address: Address;
  symbol: string;
  decimals: number;
}

const tokenCache = new Map<string, TokenMeta>();
