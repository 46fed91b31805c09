// What a buyer, a curator and an owner do with the AssetRegistry: buy (approve + buy, or an
// EIP-2612 permit + buy in one transaction), stake / unstake / withdraw stake / claim, and
// withdraw payouts. Each action runs through `runTransaction`, so the page shows
// pending / confirmed / failed in words.
import { buyArguments as buyArgumentsFor, permitArgument, permitTypedData } from "@datadao/abi";
import { erc20Abi, getAddress, type Address, type Hash } from "viem";
import type { Offer } from "./api";
import type { ChainContext, ContractHandle, TokenMeta } from "./contracts";
import { PERMIT_ABI } from "./contracts";
import { NotEnoughTokensError } from "./errors";
import { formatTokenAmount } from "./format";
import { runTransaction, type TxUpdate } from "./tx";

export { NotEnoughTokensError };

export type BuyMethod = "permit" | "approve";

/** How long a permit signature stays valid. */
export const PERMIT_SECONDS = 20 * 60;

export type { PermitMessage } from "@datadao/abi";
/** EIP-712 typed data of an EIP-2612 permit, and the registry's Permit struct from a signature. */
export { permitArgument, permitTypedData };

/** The terms of an offer as the buyer saw them (the catalog's `Offer`). */
export type OfferTermsShown = Pick<Offer, "offer_id" | "token" | "price" | "duration" | "scope">;

/**
 * The registry's 7-argument `buy(assetId, offerId, licensee, token, maxPrice, duration, scope)`
 * from the shown terms (viem picks that overload by the argument count).
 */
export function buyArguments(assetId: bigint, shown: OfferTermsShown, licensee: Address) {
  const terms = { offerId: BigInt(shown.offer_id), token: shown.token as Address, price: BigInt(shown.price), duration: BigInt(shown.duration), scope: shown.scope };
  return buyArgumentsFor(assetId, terms, licensee);
}

export class Market {
  constructor(readonly chain: ChainContext) {}

  get registry(): ContractHandle {
    return this.chain.contract("AssetRegistry");
  }

  private async readRegistry<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    const registry = this.registry;
    return (await this.chain.publicClient.readContract({
      address: registry.address,
      abi: registry.abi,
      functionName,
      args,
    })) as T;
  }

  private async send(functionName: string, args: readonly unknown[]): Promise<Hash> {
    const registry = this.registry;
    const found = this.chain.findFunction(["AssetRegistry"], [functionName], `AssetRegistry.${functionName}`);
    return this.chain.write({ ...found, address: registry.address }, args);
  }

  private wait = async (hash: Hash) => this.chain.publicClient.waitForTransactionReceipt({ hash });

  private async allowance(token: Address, owner: Address): Promise<bigint> {
    return this.chain.publicClient.readContract({
      address: token,
      abi: erc20Abi,
      functionName: "allowance",
      args: [owner, this.registry.address],
    });
  }

  /** Approve the registry for `amount` of `token` when the allowance is short; null when not needed. */
  async approveIfNeeded(token: TokenMeta, amount: bigint, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate | null> {
    const { client, account } = this.chain.walletClient();
    if ((await this.allowance(token.address, account)) >= amount) return null;
    return runTransaction({
      label: `Approve ${formatTokenAmount(amount, token)}`,
      token,
      send: async () => {
        const { request } = await this.chain.publicClient.simulateContract({
          address: token.address,
          abi: erc20Abi,
          functionName: "approve",
          args: [this.registry.address, amount],
          account,
        });
        return client.writeContract(request);
      },
      wait: this.wait,
      onUpdate,
    });
  }

  private async ensureBalance(token: TokenMeta, account: Address, needed: bigint): Promise<void> {
    const balance = await this.chain.tokenBalance(token.address, account);
    if (balance < needed) throw new NotEnoughTokensError(balance, needed, token);
  }

  /** Sign an EIP-2612 permit for the registry to take `value` of `token`. */
  async signPermit(token: TokenMeta, value: bigint): Promise<ReturnType<typeof permitArgument>> {
    const { client, account } = this.chain.walletClient();
    const permitToken = { address: token.address, abi: PERMIT_ABI } as const;
    const reader = this.chain.publicClient;
    const nonce = await reader.readContract({ ...permitToken, functionName: "nonces", args: [account] });
    let name: string;
    let version = "1";
    try {
      const [, domainName, domainVersion] = await reader.readContract({ ...permitToken, functionName: "eip712Domain" });
      name = domainName;
      version = domainVersion;
    } catch {
      name = await reader.readContract({ ...permitToken, functionName: "name" });
    }
    // from the time the chain will see, not the browser's alone: a chain ahead of the
    // browser's clock would find the permit expired and the purchase would revert
    const deadline = (await this.chain.transactionTime()) + BigInt(PERMIT_SECONDS);
    const typed = permitTypedData(
      { name, version, chainId: this.chain.chainId, verifyingContract: token.address },
      { owner: account, spender: this.registry.address, value, nonce, deadline },
    );
    const signature = await client.signTypedData({ account, ...typed });
    return permitArgument(signature, value, deadline);
  }

  /**
   * Buy the offer of `assetId` that the buyer was shown, for the connected account, committed
   * to exactly its terms (token, price as the maximum, duration, scope). The terms come from
   * `shown`, never from a fresh read: if the owner changed the offer since, the registry
   * refuses the sale (OfferTermsChanged, PriceAboveMax) and nothing is paid.
   */
  async buy(
    assetId: bigint,
    shown: OfferTermsShown,
    method: BuyMethod,
    onUpdate: (update: TxUpdate) => void,
  ): Promise<TxUpdate> {
    const label = "Buy the license";
    const maxPrice = BigInt(shown.price);
    let token: TokenMeta | undefined;
    try {
      token = await this.chain.tokenInfo(shown.token);
      const { account } = this.chain.walletClient();
      await this.ensureBalance(token, account, maxPrice);
      if (method === "approve") {
        const approval = await this.approveIfNeeded(token, maxPrice, onUpdate);
        if (approval && approval.phase !== "confirmed") return approval;
      }
    } catch (error) {
      return failed(label, error, token, onUpdate);
    }
    const meta = token;
    return runTransaction({
      label,
      token: meta,
      send: async () => {
        const { account } = this.chain.walletClient();
        const terms = buyArguments(assetId, shown, account);
        if (method === "approve") return this.send("buy", terms);
        const permit = await this.signPermit(meta, maxPrice);
        onUpdate({ phase: "wallet", label, message: `${label}: permit signed; confirm the purchase in your wallet…` });
        return this.send("buyWithPermit", [...terms, permit]);
      },
      wait: this.wait,
      onUpdate,
    });
  }

  async stakingToken(): Promise<TokenMeta> {
    return this.chain.tokenInfo(await this.readRegistry<string>("stakingToken"));
  }

  async paymentTokens(): Promise<TokenMeta[]> {
    const addresses = await this.readRegistry<readonly string[]>("paymentTokens");
    return Promise.all(addresses.map((address) => this.chain.tokenInfo(address)));
  }

  async stakeOf(assetId: bigint, account: Address): Promise<{ active: bigint; unbonding: bigint; availableAt: bigint }> {
    const [active, unbonding, availableAt] = await this.readRegistry<readonly [bigint, bigint, bigint]>("stakeOf", [assetId, account]);
    return { active, unbonding, availableAt: BigInt(availableAt) };
  }

  /** Stake that does not earn yet, and from when it will (0n: nothing warming up). */
  async warmingStake(assetId: bigint, account: Address): Promise<{ amount: bigint; activeAt: bigint }> {
    const [amount, activeAt] = await this.readRegistry<readonly [bigint, bigint | number]>("warmingStake", [assetId, account]);
    return { amount, activeAt: BigInt(activeAt) };
  }

  async earned(assetId: bigint, account: Address, token: TokenMeta): Promise<bigint> {
    return this.readRegistry<bigint>("earned", [assetId, account, token.address]);
  }

  async totalStaked(assetId: bigint): Promise<bigint> {
    return this.readRegistry<bigint>("totalStaked", [assetId]);
  }

  async payoutBalance(account: Address, token: TokenMeta): Promise<bigint> {
    return this.readRegistry<bigint>("payoutBalance", [account, token.address]);
  }

  async licenseExpiry(assetId: bigint, account: Address, scope: number): Promise<bigint> {
    return BigInt(await this.readRegistry<bigint | number>("licenseExpiry", [assetId, account, scope]));
  }

  async stake(assetId: bigint, amount: bigint, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    const label = `Stake on asset ${assetId}`;
    let token: TokenMeta | undefined;
    try {
      token = await this.stakingToken();
      const { account } = this.chain.walletClient();
      await this.ensureBalance(token, account, amount);
      const approval = await this.approveIfNeeded(token, amount, onUpdate);
      if (approval && approval.phase !== "confirmed") return approval;
    } catch (error) {
      return failed(label, error, token, onUpdate);
    }
    return this.simple(label, "stake", [assetId, amount], onUpdate, token);
  }

  /** Let a warmed-up stake start earning (anyone may, for anyone). */
  activateStake(assetId: bigint, staker: Address, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    return this.simple(`Activate the stake on asset ${assetId}`, "activateStake", [assetId, staker], onUpdate);
  }

  requestUnstake(assetId: bigint, amount: bigint, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    return this.simple(`Unstake from asset ${assetId}`, "requestUnstake", [assetId, amount], onUpdate);
  }

  withdrawStake(assetId: bigint, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    return this.simple(`Withdraw unbonded stake of asset ${assetId}`, "withdrawStake", [assetId], onUpdate);
  }

  /** List `algorithmId` on `datasetId` (owner only), pinned to `version` (0 = latest). */
  trustAlgorithm(datasetId: bigint, algorithmId: bigint, version: number, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    return this.simple(`List algorithm #${algorithmId} on dataset #${datasetId}`, "trustAlgorithm", [datasetId, algorithmId, version], onUpdate);
  }

  untrustAlgorithm(datasetId: bigint, algorithmId: bigint, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    return this.simple(`Remove algorithm #${algorithmId} from dataset #${datasetId}`, "untrustAlgorithm", [datasetId, algorithmId], onUpdate);
  }

  claim(assetId: bigint, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    return this.simple(`Claim rewards of asset ${assetId}`, "claim", [assetId], onUpdate);
  }

  withdraw(token: TokenMeta, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    return this.simple(`Withdraw ${token.symbol}`, "withdraw", [getAddress(token.address)], onUpdate, token);
  }

  private simple(
    label: string,
    functionName: string,
    args: readonly unknown[],
    onUpdate: (u: TxUpdate) => void,
    token?: TokenMeta,
  ): Promise<TxUpdate> {
    return runTransaction({ label, token, send: () => this.send(functionName, args), wait: this.wait, onUpdate });
  }
}

/** A failure before the wallet opened (balance check, reads): reported like a failed transaction. */
function failed(label: string, error: unknown, token: TokenMeta | undefined, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
  return runTransaction({
    label,
    token,
    send: () => Promise.reject(error),
    wait: () => Promise.reject(error),
    onUpdate,
  });
}
