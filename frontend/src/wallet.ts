// The user's wallet: EIP-6963 discovery (every injected wallet announces itself), the plain
// EIP-1193 `window.ethereum` as a fallback, the connected account and chain, and the network
// switch (wallet_switchEthereumChain, then wallet_addEthereumChain when the wallet answers 4902).
import { getAddress, numberToHex, type Address } from "viem";
import { errorChain } from "./errors";

export interface RequestArguments {
  method: string;
  params?: readonly unknown[] | Record<string, unknown>;
}

export interface Eip1193Provider {
  request(args: RequestArguments): Promise<unknown>;
  on?(event: string, listener: (...args: any[]) => void): unknown;
  removeListener?(event: string, listener: (...args: any[]) => void): unknown;
  isMetaMask?: boolean;
}

/** EIP-6963 `EIP6963ProviderInfo`. */
export interface WalletInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

export interface WalletOption {
  info: WalletInfo;
  provider: Eip1193Provider;
  /** true when found through EIP-6963; false for the `window.ethereum` fallback */
  announced: boolean;
}

/** The parts of `window` discovery needs (a fake in unit tests). */
export interface WalletWindow {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
  ethereum?: Eip1193Provider;
}

export const ANNOUNCE_EVENT = "eip6963:announceProvider";
export const REQUEST_EVENT = "eip6963:requestProvider";

export const FALLBACK_INFO: WalletInfo = {
  uuid: "window.ethereum",
  name: "Browser wallet",
  icon: "",
  rdns: "window.ethereum",
};

function isProvider(value: unknown): value is Eip1193Provider {
  return !!value && typeof (value as Eip1193Provider).request === "function";
}

function validAnnouncement(detail: unknown): detail is { info: WalletInfo; provider: Eip1193Provider } {
  const candidate = detail as { info?: Partial<WalletInfo>; provider?: unknown } | null;
  return (
    !!candidate &&
    !!candidate.info &&
    typeof candidate.info.uuid === "string" &&
    typeof candidate.info.name === "string" &&
    isProvider(candidate.provider)
  );
}

/**
 * Keep a list of the wallets in this browser: every EIP-6963 announcement (deduplicated by
 * uuid, late ones included), or `window.ethereum` alone when nobody announced. Calls `onChange`
 * with the current list; returns a function that stops listening.
 */
export function watchWallets(win: WalletWindow, onChange: (options: WalletOption[]) => void): () => void {
  const announced = new Map<string, WalletOption>();

  const current = (): WalletOption[] => {
    const list = [...announced.values()];
    const injected = win.ethereum;
    if (isProvider(injected) && !list.some((option) => option.provider === injected)) {
      if (list.length === 0) {
        const name = injected.isMetaMask ? "MetaMask" : FALLBACK_INFO.name;
        list.push({ info: { ...FALLBACK_INFO, name }, provider: injected, announced: false });
      }
    }
    return list;
  };

  const onAnnounce = (event: Event) => {
    const detail = (event as CustomEvent).detail;
    if (!validAnnouncement(detail)) return;
    if (announced.get(detail.info.uuid)?.provider === detail.provider) return;
    announced.set(detail.info.uuid, { info: { ...detail.info }, provider: detail.provider, announced: true });
    onChange(current());
  };

  win.addEventListener(ANNOUNCE_EVENT, onAnnounce);
  win.dispatchEvent(new Event(REQUEST_EVENT));
  onChange(current());
  return () => win.removeEventListener(ANNOUNCE_EVENT, onAnnounce);
}

/** The wallets that answer within `waitMs` (announcements arrive synchronously in practice). */
export function discoverWallets(win: WalletWindow, waitMs = 200): Promise<WalletOption[]> {
  return new Promise((resolve) => {
    let latest: WalletOption[] = [];
    const stop = watchWallets(win, (options) => {
      latest = options;
    });
    setTimeout(() => {
      stop();
      resolve(latest);
    }, waitMs);
  });
}

/** What `wallet_addEthereumChain` needs to know about the exchange's chain. */
export interface ChainTarget {
  chainId: number;
  chainName: string;
  rpcUrls: string[];
  nativeCurrency?: { name: string; symbol: string; decimals: number };
}

export function parseChainId(value: unknown): number | null {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && value.length > 0) {
    const parsed = value.startsWith("0x") ? Number.parseInt(value, 16) : Number.parseInt(value, 10);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

function firstAccount(value: unknown): Address | null {
  if (!Array.isArray(value) || value.length === 0 || typeof value[0] !== "string") return null;
  try {
    return getAddress(value[0]);
  } catch {
    return null;
  }
}

function hasCode(error: unknown, code: number): boolean {
  return errorChain(error).some(
    (link) =>
      link.code === code ||
      (link.data as { originalError?: { code?: unknown } } | undefined)?.originalError?.code === code,
  );
}

export interface WalletState {
  account: Address | null;
  chainId: number | null;
}

/** One wallet, connected: its account and chain, kept current through the wallet's events. */
export class WalletConnection {
  account: Address | null = null;
  chainId: number | null = null;
  private listeners = new Set<(state: WalletState) => void>();
  private readonly onAccounts = (accounts: unknown) => {
    this.account = firstAccount(accounts);
    this.emit();
  };
  private readonly onChain = (chainId: unknown) => {
    this.chainId = parseChainId(chainId);
    this.emit();
  };
  private readonly onDisconnect = () => {
    this.account = null;
    this.emit();
  };

  constructor(readonly option: WalletOption) {}

  get provider(): Eip1193Provider {
    return this.option.provider;
  }

  get name(): string {
    return this.option.info.name;
  }

  /** Ask the wallet for an account (it shows its own prompt), then follow its events. */
  async connect(): Promise<WalletState> {
    const accounts = await this.provider.request({ method: "eth_requestAccounts" });
    this.account = firstAccount(accounts);
    this.chainId = parseChainId(await this.provider.request({ method: "eth_chainId" }));
    this.subscribe();
    this.emit();
    return this.state();
  }

  /** Resume without a prompt (the wallet remembers this site): null when it does not. */
  async reconnect(): Promise<WalletState | null> {
    const accounts = await this.provider.request({ method: "eth_accounts" });
    const account = firstAccount(accounts);
    if (!account) return null;
    this.account = account;
    this.chainId = parseChainId(await this.provider.request({ method: "eth_chainId" }));
    this.subscribe();
    this.emit();
    return this.state();
  }

  disconnect(): void {
    this.provider.removeListener?.("accountsChanged", this.onAccounts);
    this.provider.removeListener?.("chainChanged", this.onChain);
    this.provider.removeListener?.("disconnect", this.onDisconnect);
    this.subscribed = false;
    this.account = null;
    this.chainId = null;
    this.emit();
    this.listeners.clear();
  }

  onChange(listener: (state: WalletState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  state(): WalletState {
    return { account: this.account, chainId: this.chainId };
  }

  isOn(chainId: number): boolean {
    return this.chainId === chainId;
  }

  /**
   * Move the wallet to `target`; when the wallet does not know the chain (4902), add it
   * (most wallets switch on add). Returns the chain the wallet reports afterwards.
   */
  async switchChain(target: ChainTarget): Promise<number | null> {
    const chainIdHex = numberToHex(target.chainId);
    try {
      await this.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: chainIdHex }] });
    } catch (error) {
      if (!hasCode(error, 4902)) throw error;
      await this.provider.request({
        method: "wallet_addEthereumChain",
        params: [
          {
            chainId: chainIdHex,
            chainName: target.chainName,
            rpcUrls: target.rpcUrls,
            nativeCurrency: target.nativeCurrency ?? { name: "Ether", symbol: "ETH", decimals: 18 },
          },
        ],
      });
      const now = parseChainId(await this.provider.request({ method: "eth_chainId" }));
      if (now !== target.chainId) {
        await this.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: chainIdHex }] });
      }
    }
    this.chainId = parseChainId(await this.provider.request({ method: "eth_chainId" }));
    this.emit();
    return this.chainId;
  }

  private subscribed = false;

  private subscribe(): void {
    if (this.subscribed) return;
    this.subscribed = true;
    this.provider.on?.("accountsChanged", this.onAccounts);
    this.provider.on?.("chainChanged", this.onChain);
    this.provider.on?.("disconnect", this.onDisconnect);
  }

  private emit(): void {
    const state = this.state();
    for (const listener of [...this.listeners]) listener(state);
  }
}
