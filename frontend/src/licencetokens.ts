// Licence tokens (contracts/LicenseTokens.sol, ERC-1155): the owner opts an offer in, a buyer
// buys one, a holder transfers it. Every call to the LicenseTokens ABI from the dApp is here (so
// lending can be added beside `transfer`); the checks before a transfer are pure and unit-tested.
// A token id is assetId << 2 | scope << 1 | transferable; expiresAt(id, holder) is the end of
// the holder's licence (0 = holds none, 2**64 - 1 = perpetual).
import { getAddress, isAddress, type Address, type Hash } from "viem";
import type { ChainContext, ContractHandle } from "./contracts";
import { Market, buyArguments, type OfferTermsShown } from "./market";
import { runTransaction, type TxUpdate } from "./tx";
import { describeError } from "./errors";

export const LICENSE_TOKENS = "LicenseTokens";
export const PERPETUAL = 2n ** 64n - 1n;

export function licenceTokenId(assetId: bigint, scope: number, transferable: boolean): bigint {
  return (assetId << 2n) | (BigInt(scope) << 1n) | (transferable ? 1n : 0n);
}

export function splitTokenId(id: bigint): { assetId: bigint; scope: number; transferable: boolean } {
  return { assetId: id >> 2n, scope: Number((id >> 1n) & 1n), transferable: (id & 1n) === 1n };
}

export interface TokenOffer {
  enabled: boolean;
  transferable: boolean;
}

/** The owner's choice for an offer's licences, as the form names it. */
export type TokenMode = "off" | "transferable" | "bound";

export function tokenMode(offer: TokenOffer): TokenMode {
  return !offer.enabled ? "off" : offer.transferable ? "transferable" : "bound";
}

export interface TransferCheck {
  /** the holder */
  from: string;
  /** what the user typed as the new holder */
  to: string;
  /** expiresAt of the transferable and the bound id for `from` (0 = none) */
  transferableEnd: bigint;
  boundEnd: bigint;
  /** the chain's time (seconds) */
  now: bigint;
  assetId: bigint;
  scope: string;
}

/** Why the transfer would be refused, in one line; null when it may be sent. */
export function transferRefusal(check: TransferCheck): string | null {
  const to = check.to.trim();
  if (!isAddress(to, { strict: false }) || /^0x0{40}$/i.test(to)) {
    return `The new holder must be an address (0x and 40 hex digits, not the zero address), not "${to}".`;
  }
  if (getAddress(to) === getAddress(check.from)) return "That is your own address: nothing would move.";
  if (check.transferableEnd === 0n && check.boundEnd !== 0n) {
    return `Your ${check.scope} licence token of asset #${check.assetId} is bound to your address: its offer does not allow transfers.`;
  }
  if (check.transferableEnd === 0n) return `You hold no ${check.scope} licence token of asset #${check.assetId}.`;
  if (check.transferableEnd !== PERPETUAL && check.transferableEnd <= check.now) {
    return `Your ${check.scope} licence token of asset #${check.assetId} has expired: nothing to transfer.`;
  }
  return null;
}

export class LicenceTokens {
  constructor(readonly chain: ChainContext) {}

  /** Deployed (and its ABI in this build). */
  static available(chain: ChainContext): boolean {
    return chain.has(LICENSE_TOKENS);
  }

  get contract(): ContractHandle {
    return this.chain.contract(LICENSE_TOKENS);
  }

  private async read<T>(functionName: string, args: readonly unknown[]): Promise<T> {
    const { address, abi } = this.contract;
    return (await this.chain.publicClient.readContract({ address, abi, functionName, args })) as T;
  }

  private send(functionName: string, args: readonly unknown[]): Promise<Hash> {
    const found = this.chain.findFunction([LICENSE_TOKENS], [functionName], `${LICENSE_TOKENS}.${functionName}`);
    return this.chain.write(found, args);
  }

  private wait = async (hash: Hash) => this.chain.publicClient.waitForTransactionReceipt({ hash });

  async tokenOffer(assetId: bigint, offerId: number): Promise<TokenOffer> {
    const offer = await this.read<{ enabled: boolean; transferable: boolean }>("tokenOffer", [assetId, BigInt(offerId)]);
    return { enabled: offer.enabled, transferable: offer.transferable };
  }

  expiresAt(id: bigint, holder: Address): Promise<bigint> {
    return this.read<bigint>("expiresAt", [id, holder]);
  }

  balanceOf(holder: Address, id: bigint): Promise<bigint> {
    return this.read<bigint>("balanceOf", [holder, id]);
  }

  setTokenOffer(assetId: bigint, offerId: number, mode: TokenMode, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    const label = mode === "off"
      ? `Sell offer #${offerId} of asset #${assetId} as address-bound licences`
      : `Sell offer #${offerId} of asset #${assetId} as ${mode} licence tokens`;
    return runTransaction({
      label,
      send: () => this.send("setTokenOffer", [assetId, BigInt(offerId), mode !== "off", mode === "transferable"]),
      wait: this.wait,
      onUpdate,
    });
  }

  /** Buy a licence token on exactly the terms shown: approve the registry (it takes the price) when short, then buy. */
  async buy(assetId: bigint, shown: OfferTermsShown, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    const label = "Buy the licence token";
    const price = BigInt(shown.price);
    let token;
    try {
      token = await this.chain.tokenInfo(shown.token);
      if (price > 0n) {
        const approval = await new Market(this.chain).approveIfNeeded(token, price, onUpdate);
        if (approval && approval.phase !== "confirmed") return approval;
      }
    } catch (error) {
      return failedUpdate(label, error, onUpdate);
    }
    return runTransaction({
      label,
      token,
      send: () => this.send("buy", buyArguments(assetId, shown, this.chain.walletClient().account)),
      wait: this.wait,
      onUpdate,
    });
  }

  /** The id the holder may move to `to`, or the refusal (a line; nothing is sent). */
  async checkTransfer(from: Address, assetId: bigint, scope: number, scopeName: string, to: string): Promise<{ id: bigint } | { refusal: string }> {
    const [transferableEnd, boundEnd, now] = await Promise.all([
      this.expiresAt(licenceTokenId(assetId, scope, true), from),
      this.expiresAt(licenceTokenId(assetId, scope, false), from),
      this.chain.transactionTime(),
    ]);
    const refusal = transferRefusal({ from, to, transferableEnd, boundEnd, now, assetId, scope: scopeName });
    return refusal === null ? { id: licenceTokenId(assetId, scope, true) } : { refusal };
  }

  /** Check, then safeTransferFrom(from, to, id, 1, "") from the wallet. */
  async transfer(assetId: bigint, scope: number, scopeName: string, to: string, onUpdate: (u: TxUpdate) => void): Promise<TxUpdate> {
    const label = `Transfer your ${scopeName} licence token of asset #${assetId}`;
    try {
      const { account } = this.chain.walletClient();
      const checked = await this.checkTransfer(account, assetId, scope, scopeName, to);
      if ("refusal" in checked) throw new Error(checked.refusal);
      return await runTransaction({
        label,
        send: () => this.send("safeTransferFrom", [account, getAddress(to.trim()), checked.id, 1n, "0x"]),
        wait: this.wait,
        onUpdate,
      });
    } catch (error) {
      return failedUpdate(label, error, onUpdate);
    }
  }
}

function failedUpdate(label: string, error: unknown, onUpdate: (u: TxUpdate) => void): TxUpdate {
  const update: TxUpdate = { phase: "failed", label, message: describeError(error) };
  onUpdate(update);
  return update;
}
