// Wallet, contract and gateway errors in words a person understands. Every place that shows an
// error goes through `explainError`, so wording stays consistent across pages.
import { formatAmount, formatTokenAmount } from "./format";
import { ContentMismatchError } from "./verify";

/** A problem+json answer from the gateway (RFC 9457), with its `detail` and `hint`. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly problemType: string = "about:blank",
    readonly hint?: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(detail);
  }

  /** The short code of the problem type: `not-licensed`, `deployment-missing`, ... */
  get code(): string {
    return this.problemType.split("/").pop() ?? this.problemType;
  }
}

/** An endpoint that this gateway does not serve (yet): the page shows a calm notice instead. */
export class NotAvailableError extends Error {
  override name = "NotAvailableError";
  constructor(readonly what: string) {
    super(`${what} is not available on this gateway yet.`);
  }
}

/** A contract (or one of its functions) that the current deployment does not have yet. */
export class NotDeployedError extends Error {
  override name = "NotDeployedError";
  constructor(readonly what: string) {
    super(`${what} is not deployed on this network yet.`);
  }
}

export class WrongNetworkError extends Error {
  override name = "WrongNetworkError";
  constructor(readonly expected: number, readonly actual: number | null) {
    super(`wallet is on chain ${actual}, this exchange runs on chain ${expected}`);
  }
}

/** A gateway asked for a sign-in to another site or chain than the one the dApp talks to. */
export class ForeignSignInError extends Error {
  override name = "ForeignSignInError";
  constructor(
    readonly gateway: string,
    readonly askedFor: string,
  ) {
    super(`The gateway at ${gateway} asked you to sign in to ${askedFor}, not to itself. Nothing was signed.`);
  }
}

/** viem's EIP-4361 writer refused a field of the sign-in message (the gateway's host or nonce). */
export class SignInMessageError extends Error {
  override name = "SignInMessageError";
  constructor(gateway: string, problem: string) {
    super(
      `Cannot sign in to ${gateway}: ${problem} (viem's EIP-4361 writer takes a host name with a dot, an IPv4 address ` +
        "or localhost, and a nonce of at least 8 letters and digits). Nothing was signed.",
    );
  }
}

export class NoWalletError extends Error {
  override name = "NoWalletError";
  constructor() {
    super("no wallet found");
  }
}

/** Checked before the wallet opens: the balance does not cover the price or the stake. */
export class NotEnoughTokensError extends Error {
  override name = "NotEnoughTokensError";
  constructor(
    readonly balance: bigint,
    readonly needed: bigint,
    readonly token: TokenInfo,
  ) {
    super(
      `Not enough tokens: you have ${formatTokenAmount(balance, token)} but this needs ${formatTokenAmount(needed, token)}.`,
    );
  }
}

export type ErrorKind =
  | "rejected"
  | "content-mismatch"
  | "request-pending"
  | "unauthorized"
  | "unsupported"
  | "disconnected"
  | "unknown-chain"
  | "wrong-network"
  | "no-wallet"
  | "foreign-sign-in"
  | "not-enough-tokens"
  | "not-enough-allowance"
  | "not-enough-gas"
  | "price-changed"
  | "offer-changed"
  | "reverted"
  | "not-available"
  | "not-deployed"
  | "gateway"
  | "network"
  | "other";

export interface Explained {
  kind: ErrorKind;
  /** One sentence about what happened. */
  message: string;
  /** What to do next, when there is something to do. */
  hint?: string;
}

export interface TokenInfo {
  symbol: string;
  decimals: number;
}

interface ErrorLike {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  shortMessage?: unknown;
  details?: unknown;
  cause?: unknown;
  data?: unknown;
}

/** The error and every `cause` under it (viem nests the interesting part several levels deep). */
export function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  while (current && typeof current === "object" && chain.length < 12) {
    if (chain.includes(current as ErrorLike)) break;
    chain.push(current as ErrorLike);
    current = (current as ErrorLike).cause;
  }
  return chain;
}

function providerCode(chain: ErrorLike[]): number | undefined {
  for (const link of chain) {
    if (typeof link.code === "number") return link.code;
    // some wallets wrap the EIP-1193 error as {data: {originalError: {code}}}
    const inner = (link.data as { originalError?: { code?: unknown } } | undefined)?.originalError;
    if (inner && typeof inner.code === "number") return inner.code;
  }
  return undefined;
}

export interface RevertData {
  errorName: string;
  args: readonly unknown[];
}

/** The custom error (name, arguments) somewhere in a reverted call's error chain. */
export function revertData(chain: ErrorLike[]): RevertData | undefined {
  for (const link of chain) {
    const data = link.data as { errorName?: unknown; args?: unknown } | undefined;
    if (data && typeof data === "object" && typeof data.errorName === "string") {
      return { errorName: data.errorName, args: Array.isArray(data.args) ? data.args : [] };
    }
  }
  return undefined;
}

const PRICE_ERROR = /price/i;
const PRICE_MOVED = /(max|changed|high|exceed|above|slippage|mismatch)/i;

/** `OfferNotActive` → `offer not active`. */
export function words(identifier: string): string {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase();
}

function amount(value: unknown, token?: TokenInfo): string {
  if (typeof value !== "bigint") return String(value);
  return token ? `${formatAmount(value, token.decimals, 6)} ${token.symbol}` : value.toString();
}

function explainRevert(revert: RevertData, token?: TokenInfo): Explained {
  const { errorName, args } = revert;
  if (errorName === "ERC20InsufficientBalance") {
    return {
      kind: "not-enough-tokens",
      message: `Not enough tokens: you have ${amount(args[1], token)} but this needs ${amount(args[2], token)}.`,
      hint: "Get more of the payment token, or pick a cheaper offer.",
    };
  }
  if (errorName === "ERC20InsufficientAllowance") {
    return {
      kind: "not-enough-allowance",
      message: `The exchange may spend only ${amount(args[1], token)} of your tokens, and this needs ${amount(args[2], token)}.`,
      hint: "Approve the amount first (or buy with a permit signature).",
    };
  }
  if (errorName === "OfferTermsChanged") {
    return {
      kind: "offer-changed",
      message: "The owner changed this offer's terms (token, duration or scope) since you opened it, so nothing was bought.",
      hint: "Reload the offer, check its new terms and buy again.",
    };
  }
  if (PRICE_ERROR.test(errorName) && PRICE_MOVED.test(errorName)) {
    const numbers = args.filter((value) => typeof value === "bigint") as bigint[];
    const detail =
      numbers.length >= 2
        ? ` It now costs ${amount(numbers[numbers.length - 2], token)}; you agreed to at most ${amount(numbers[numbers.length - 1], token)}.`
        : "";
    return {
      kind: "price-changed",
      message: `The price changed since you opened this offer, so nothing was bought.${detail}`,
      hint: "Reload the offer, check the new price and buy again.",
    };
  }
  const owner = OWNER_REVERTS[errorName];
  if (owner) return { kind: "reverted", ...owner(args) };
  return {
    kind: "reverted",
    message: `The contract refused the transaction: ${words(errorName)}.`,
  };
}

/** The registry's refusals of an owner's call (offers, grants, retire), in words. */
const OWNER_REVERTS: Record<string, (args: readonly unknown[]) => { message: string; hint?: string }> = {
  NotAssetOwner: (args) => ({
    message: `Only the owner of asset #${String(args[0])} may do that; this account does not own it.`,
    hint: "Switch to the owner's account (a DataDAO's asset changes by a members' vote).",
  }),
  AssetIsRetired: (args) => ({ message: `Asset #${String(args[0])} is retired: its offers cannot change and nothing new is sold.` }),
  UnknownOffer: (args) => ({ message: `Asset #${String(args[0])} has no offer #${String(args[1])}.`, hint: "Reload the page." }),
  OfferInactive: (args) => ({ message: `Offer #${String(args[1])} of asset #${String(args[0])} is paused: nothing is sold on it now.` }),
  GrantExpired: () => ({ message: "The grant's end has already passed on chain.", hint: "Pick a later date." }),
  TokenNotAllowed: (args) => ({ message: `The registry does not take ${String(args[0])} as payment.`, hint: "Pick one of its payment tokens." }),
  EmptyOrder: () => ({ message: "The order is empty: nothing to buy." }),
};

function textOf(chain: ErrorLike[]): string {
  return chain
    .map((link) => [link.shortMessage, link.details, link.message].filter((x) => typeof x === "string").join(" "))
    .join(" ");
}

/** Turn any error from the wallet, viem, a contract or the gateway into words. */
export function explainError(error: unknown, token?: TokenInfo): Explained {
  if (error instanceof ApiError) {
    if (error.status === 0) {
      return { kind: "network", message: error.detail, hint: error.hint };
    }
    return { kind: "gateway", message: sentence(error.detail), hint: error.hint };
  }
  if (error instanceof NotAvailableError) {
    return { kind: "not-available", message: error.message, hint: "The gateway operator has not enabled it; try again later." };
  }
  if (error instanceof NotDeployedError) {
    return { kind: "not-deployed", message: error.message, hint: "The contracts are still being deployed to this network." };
  }
  if (error instanceof WrongNetworkError) {
    return {
      kind: "wrong-network",
      message: `Your wallet is on the wrong network (chain ${error.actual ?? "unknown"}); this exchange runs on chain ${error.expected}.`,
      hint: "Switch the network in your wallet, or use the switch button above.",
    };
  }
  if (error instanceof NotEnoughTokensError) {
    return { kind: "not-enough-tokens", message: error.message, hint: `Get more ${error.token.symbol}, or pick a cheaper offer.` };
  }
  if (error instanceof ContentMismatchError) {
    return { kind: "content-mismatch", message: sentence(error.message), hint: "Do not trust this gateway's downloads." };
  }
  if (error instanceof ForeignSignInError) {
    return { kind: "foreign-sign-in", message: error.message, hint: "Do not trust this gateway; open the exchange from its own address." };
  }
  if (error instanceof NoWalletError) {
    return {
      kind: "no-wallet",
      message: "No wallet found in this browser.",
      hint: "Install a browser wallet (any EIP-1193 / EIP-6963 wallet) and reload.",
    };
  }
  const chain = errorChain(error);
  const code = providerCode(chain);
  switch (code) {
    case 4001:
      return { kind: "rejected", message: "You rejected the request in your wallet. Nothing was signed or sent." };
    case -32002:
      return { kind: "request-pending", message: "Your wallet already has a request waiting.", hint: "Open your wallet and answer it." };
    case 4100:
      return { kind: "unauthorized", message: "Your wallet has not given this site access to that account.", hint: "Connect again." };
    case 4200:
      return { kind: "unsupported", message: "Your wallet does not support this request." };
    case 4900:
    case 4901:
      return { kind: "disconnected", message: "Your wallet is not connected to the network.", hint: "Check your wallet's connection." };
    case 4902:
      return { kind: "unknown-chain", message: "Your wallet does not know this network yet.", hint: "Add it when the wallet asks." };
  }
  const revert = revertData(chain);
  if (revert) return explainRevert(revert, token);
  const names = chain.map((link) => String(link.name ?? ""));
  const text = textOf(chain);
  if (names.includes("UserRejectedRequestError") || /user (rejected|denied)/i.test(text)) {
    return { kind: "rejected", message: "You rejected the request in your wallet. Nothing was signed or sent." };
  }
  if (names.includes("ChainMismatchError") || /does not match the target chain/i.test(text)) {
    return {
      kind: "wrong-network",
      message: "Your wallet is on the wrong network for this transaction.",
      hint: "Switch the network in your wallet, or use the switch button above.",
    };
  }
  if (names.includes("InsufficientFundsError") || /insufficient funds/i.test(text)) {
    return {
      kind: "not-enough-gas",
      message: "Your account does not have enough of the network's coin to pay for gas.",
      hint: "Fund the account with a little ETH for fees.",
    };
  }
  if (names.includes("ContractFunctionRevertedError") || /revert/i.test(text)) {
    return { kind: "reverted", message: "The contract refused the transaction (no reason given)." };
  }
  if (names.includes("TypeError") && /fetch/i.test(text)) {
    return { kind: "network", message: "Could not reach the server.", hint: "Check your connection and try again." };
  }
  const first = chain[0];
  const message = first ? String(first.shortMessage ?? first.message ?? "Something went wrong.") : String(error);
  return { kind: "other", message: sentence(message) };
}

function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return "Something went wrong.";
  const capital = trimmed[0]!.toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** The message and hint as one line, for status texts. */
export function describeError(error: unknown, token?: TokenInfo): string {
  const { message, hint } = explainError(error, token);
  return hint ? `${message} ${hint}` : message;
}
