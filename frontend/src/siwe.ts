// Sign-In with Ethereum (EIP-4361): a message for the gateway the dApp talks to, signed with
// `personal_sign`, exchanged for a session token at POST /v1/auth/siwe. The token lives in
// memory and sessionStorage (gone when the tab closes), never in localStorage.
//
// Of the gateway's challenge only the nonce is taken: domain and URI come from the gateway URL
// the dApp connected to, the chain from the wallet. A gateway that relays another gateway's
// challenge (to trade the signature there for a session as the user) is refused before the
// wallet is asked, and so is one whose chain is not the wallet's.
import { getAddress, stringToHex, type Address } from "viem";
import { createSiweMessage, SiweInvalidMessageFieldError } from "viem/siwe";
import type { GatewayApi, NonceOut } from "./api";
import { ForeignSignInError, SignInMessageError, WrongNetworkError } from "./errors";
import { parseChainId, type Eip1193Provider } from "./wallet";

export const SIWE_STATEMENT = "Sign in to the DataDAO Exchange gateway.";
/** The gateway keeps a session at most an hour; ask for no more. */
export const SESSION_SECONDS = 3600;

/** The message this dApp signs: the gateway's domain and origin, the wallet's chain, the
 *  gateway's nonce, valid for SESSION_SECONDS. viem's `createSiweMessage` writes the EIP-4361
 *  text and checks its fields: a nonce of fewer than 8 alphanumerics (or carrying more lines), or
 *  a gateway host that is not a dotted name, an IPv4 address or localhost (viem refuses
 *  `http://gw:8000` and IPv6 literals, which the gateway's parser would take), is a
 *  SignInMessageError before the wallet is asked. */
export function signInMessage(fields: {
  gateway: { domain: string; origin: string };
  account: Address;
  chainId: number;
  nonce: string;
  issuedAt: Date;
}): string {
  const { gateway, account, chainId, nonce, issuedAt } = fields;
  try {
    return createSiweMessage({
      domain: gateway.domain,
      address: account, // written with its EIP-55 checksum, as the standard requires
      statement: SIWE_STATEMENT,
      uri: gateway.origin,
      version: "1",
      chainId,
      nonce,
      issuedAt,
      expirationTime: new Date(issuedAt.getTime() + SESSION_SECONDS * 1000),
    });
  } catch (error) {
    if (error instanceof SiweInvalidMessageFieldError) throw new SignInMessageError(gateway.origin, error.shortMessage);
    throw error;
  }
}

export interface Session {
  token: string;
  account: Address;
  /** ISO 8601 */
  expiresAt: string;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const STORAGE_KEY = "datadao.session";

/** The sessionStorage key of a gateway's session: one per gateway, so a token one gateway issued
 *  is never sent to another (a `?gateway=` page of the same origin). */
export function sessionKey(gatewayBaseUrl: string): string {
  return `${STORAGE_KEY}:${new URL(gatewayBaseUrl).origin}`;
}

/** The session token: in memory, mirrored to sessionStorage so a reload keeps it. */
export class SessionStore {
  private current: Session | null = null;
  private listeners = new Set<(session: Session | null) => void>();

  constructor(
    private readonly storage: StorageLike | null,
    private readonly now: () => number = () => Date.now(),
    private readonly key: string = STORAGE_KEY,
  ) {
    try {
      const saved = storage?.getItem(this.key);
      if (saved) this.current = JSON.parse(saved) as Session;
    } catch {
      this.current = null;
    }
  }

  /** The session, unless it has expired (then it is dropped). */
  get(): Session | null {
    if (this.current && Date.parse(this.current.expiresAt) <= this.now()) this.clear();
    return this.current;
  }

  token(): string | null {
    return this.get()?.token ?? null;
  }

  /** A session for `account`, or null (a session never carries over to another account). */
  forAccount(account: string | null): Session | null {
    const session = this.get();
    return session && account && session.account.toLowerCase() === account.toLowerCase() ? session : null;
  }

  set(session: Session): void {
    this.current = session;
    this.storage?.setItem(this.key, JSON.stringify(session));
    this.emit();
  }

  clear(): void {
    const had = this.current !== null;
    this.current = null;
    this.storage?.removeItem(this.key);
    if (had) this.emit();
  }

  onChange(listener: (session: Session | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener(this.current);
  }
}

export interface SignInOptions {
  api: GatewayApi;
  provider: Eip1193Provider;
  account: Address;
  now?: () => Date;
}

/** Domain (`host[:port]`) and origin of the gateway URL the dApp talks to. */
export function gatewayOrigin(baseUrl: string): { domain: string; origin: string } {
  const url = new URL(baseUrl);
  return { domain: url.host, origin: url.origin };
}

/** The challenge's nonce, if the challenge is for this gateway and the wallet's chain. */
export function checkedNonce(challenge: NonceOut, gateway: { domain: string; origin: string }, chainId: number): string {
  const uri = String(challenge.uri).replace(/\/$/, "");
  if (challenge.domain !== gateway.domain || uri !== gateway.origin) {
    throw new ForeignSignInError(gateway.origin, `${uri} (${challenge.domain})`);
  }
  if (Number(challenge.chain_id) !== chainId) throw new WrongNetworkError(Number(challenge.chain_id), chainId);
  return challenge.nonce;
}

/**
 * The whole sign-in: fetch a nonce, check that the challenge names this gateway and the
 * wallet's chain, build the message from those, let the wallet sign it, exchange it for a
 * token. Throws ForeignSignInError / WrongNetworkError before the wallet is asked, the wallet's
 * error as is (4001 when the user says no), or the gateway's problem as ApiError.
 */
export async function signInWithEthereum({ api, provider, account, now = () => new Date() }: SignInOptions): Promise<Session> {
  const gateway = gatewayOrigin(api.baseUrl);
  const chainId = parseChainId(await provider.request({ method: "eth_chainId" }));
  const challenge = await api.nonce();
  if (chainId === null) throw new WrongNetworkError(Number(challenge.chain_id), null);
  const nonce = checkedNonce(challenge, gateway, chainId);
  const message = signInMessage({ gateway, account, chainId, nonce, issuedAt: now() });
  const signature = (await provider.request({
    method: "personal_sign",
    params: [stringToHex(message), account],
  })) as string;
  const session = await api.signIn(message, signature);
  return { token: session.token, account: getAddress(session.account), expiresAt: session.expires_at };
}
