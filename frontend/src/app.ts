// The dApp's shared state: the gateway, its deployment, the wallets found, the connected
// wallet, and the sign-in session. Pages read it and subscribe to its changes.
import { GatewayApi, type Deployment } from "./api";
import { ChainContext, type TokenMeta } from "./contracts";
import { NotDeployedError } from "./errors";
import { chainName } from "./format";
import { rememberToken } from "./offers";
import { SessionStore, sessionKey, signInWithEthereum, type Session, type StorageLike } from "./siwe";
import { WalletConnection, watchWallets, type ChainTarget, type WalletOption, type WalletWindow } from "./wallet";

export type Listener = (app: App) => void;

export class App {
  readonly sessions: SessionStore;
  readonly api: GatewayApi;
  wallets: WalletOption[] = [];
  wallet: WalletConnection | null = null;
  deployment: Deployment | null = null;
  deploymentError: unknown = null;
  /** The chain the gateway serves: from the deployment, or /healthz before one exists. */
  expectedChainId: number | null = null;
  /** The account the gateway says the session belongs to (GET /v1/auth/me). */
  verifiedAccount: string | null = null;
  /** The registry's staking token and payment tokens, read once per deployment. */
  stakingToken: TokenMeta | null = null;
  paymentTokens: TokenMeta[] = [];
  private chainContext: { key: string; context: ChainContext } | null = null;
  private listeners = new Set<Listener>();

  constructor(baseUrl: string, storage: StorageLike | null) {
    this.sessions = new SessionStore(storage, undefined, sessionKey(baseUrl));
    this.api = new GatewayApi(baseUrl, () => this.sessions.forAccount(this.wallet?.account ?? null)?.token ?? null);
    this.sessions.onChange(() => this.notify());
  }

  async init(win: WalletWindow): Promise<void> {
    watchWallets(win, (options) => {
      this.wallets = options;
      this.notify();
    });
    await this.loadDeployment();
  }

  async loadDeployment(): Promise<void> {
    try {
      this.deployment = await this.api.deployment();
      this.expectedChainId = this.deployment.chain_id;
      this.deploymentError = null;
      await this.loadTokens();
    } catch (error) {
      this.deployment = null;
      this.deploymentError = error;
      try {
        const health = await this.api.health();
        this.expectedChainId = health.chain.details.chain_id ?? null;
      } catch {
        this.expectedChainId = null;
      }
    }
    this.notify();
  }

  /** Symbols and decimals of the registry's tokens, so prices read "10 DDT" everywhere. */
  async loadTokens(): Promise<void> {
    try {
      const chain = this.chain();
      const registry = chain.contract("AssetRegistry");
      const read = (functionName: string) =>
        chain.publicClient.readContract({ address: registry.address, abi: registry.abi, functionName });
      const [staking, payment] = (await Promise.all([read("stakingToken"), read("paymentTokens")])) as [string, string[]];
      this.stakingToken = await chain.tokenInfo(staking);
      this.paymentTokens = await Promise.all(payment.map((address) => chain.tokenInfo(address)));
      for (const token of [this.stakingToken, ...this.paymentTokens]) rememberToken(token);
    } catch {
      // prices then show base units and the token address; pages that need the chain say why
    }
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of [...this.listeners]) listener(this);
  }

  get account(): string | null {
    return this.wallet?.account ?? null;
  }

  get wrongNetwork(): boolean {
    return !!this.wallet?.account && this.expectedChainId !== null && this.wallet.chainId !== this.expectedChainId;
  }

  /** The session of the connected account (never another account's). */
  get session(): Session | null {
    return this.sessions.forAccount(this.account);
  }

  async connect(option: WalletOption): Promise<void> {
    this.wallet?.disconnect();
    const connection = new WalletConnection(option);
    let lastAccount: string | null = null;
    connection.onChange((state) => {
      if (lastAccount && state.account !== lastAccount) {
        // another account in the wallet: the old session is not this person's
        this.sessions.clear();
        this.verifiedAccount = null;
      }
      lastAccount = state.account;
      this.notify();
    });
    this.wallet = connection;
    try {
      await connection.connect();
    } catch (error) {
      this.wallet = null;
      this.notify();
      throw error;
    }
    this.notify();
  }

  disconnect(): void {
    this.wallet?.disconnect();
    this.wallet = null;
    this.verifiedAccount = null;
    this.notify();
  }

  chainTarget(): ChainTarget | null {
    if (this.expectedChainId === null) return null;
    return {
      chainId: this.expectedChainId,
      chainName: chainName(this.expectedChainId),
      rpcUrls: this.deployment ? [this.deployment.rpc_url] : [],
    };
  }

  async switchNetwork(): Promise<void> {
    const target = this.chainTarget();
    if (!this.wallet || !target) return;
    await this.wallet.switchChain(target);
    this.notify();
  }

  async signIn(): Promise<Session> {
    if (!this.wallet?.account) throw new Error("Connect your wallet first.");
    const session = await signInWithEthereum({ api: this.api, provider: this.wallet.provider, account: this.wallet.account });
    this.sessions.set(session);
    const me = await this.api.me();
    this.verifiedAccount = me.account;
    this.notify();
    return session;
  }

  signOut(): void {
    this.sessions.clear();
    this.verifiedAccount = null;
    this.notify();
  }

  /** Contracts and clients for the current deployment and wallet (rebuilt when either changes). */
  chain(): ChainContext {
    if (!this.deployment) {
      throw this.deploymentError ?? new NotDeployedError("The exchange's contracts");
    }
    const key = `${this.deployment.chain_id}:${this.wallet?.account}:${this.wallet?.chainId}`;
    if (!this.chainContext || this.chainContext.key !== key) {
      this.chainContext = { key, context: new ChainContext(this.deployment, this.wallet) };
    }
    return this.chainContext.context;
  }
}
