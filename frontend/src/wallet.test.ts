import { describe, expect, it } from "vitest";
import { ANNOUNCE_EVENT, parseChainId, REQUEST_EVENT, watchWallets, WalletConnection, type Eip1193Provider, type WalletOption } from "./wallet";

class FakeWindow extends EventTarget {
  ethereum?: Eip1193Provider;
}

function fakeProvider(chainId = "0x539") {
  const listeners: Record<string, ((...args: unknown[]) => void)[]> = {};
  const calls: { method: string; params?: unknown }[] = [];
  let chain = chainId;
  const provider: Eip1193Provider & { emit: (event: string, value: unknown) => void; calls: typeof calls } = {
    calls,
    async request({ method, params }) {
      calls.push({ method, params });
      if (method === "eth_requestAccounts" || method === "eth_accounts") return ["0x90f79bf6eb2c4f870365e785982e1f101e93b906"];
      if (method === "eth_chainId") return chain;
      if (method === "wallet_switchEthereumChain") {
        if ((params as [{ chainId: string }])[0].chainId === "0x7a69") throw { code: 4902, message: "unknown chain" };
        chain = (params as [{ chainId: string }])[0].chainId;
        return null;
      }
      if (method === "wallet_addEthereumChain") {
        chain = (params as [{ chainId: string }])[0].chainId;
        return null;
      }
      throw new Error(method);
    },
    on(event, listener) {
      (listeners[event] ??= []).push(listener);
    },
    removeListener(event, listener) {
      listeners[event] = (listeners[event] ?? []).filter((l) => l !== listener);
    },
    emit(event, value) {
      for (const listener of listeners[event] ?? []) listener(value);
    },
  };
  return provider;
}

describe("EIP-6963 discovery", () => {
  it("lists announced wallets once each, late ones too, and asks for them", () => {
    const win = new FakeWindow();
    let requested = 0;
    win.addEventListener(REQUEST_EVENT, () => (requested += 1));
    const lists: WalletOption[][] = [];
    const provider = fakeProvider();
    const info = { uuid: "u1", name: "Test Wallet", icon: "", rdns: "org.test" };
    watchWallets(win, (options) => lists.push(options));
    expect(requested).toBe(1);
    win.dispatchEvent(new CustomEvent(ANNOUNCE_EVENT, { detail: { info, provider } }));
    win.dispatchEvent(new CustomEvent(ANNOUNCE_EVENT, { detail: { info, provider } }));
    win.dispatchEvent(new CustomEvent(ANNOUNCE_EVENT, { detail: { info: { bad: 1 }, provider } }));
    expect(lists.at(-1)!.map((o) => o.info.name)).toEqual(["Test Wallet"]);
    expect(lists).toHaveLength(2);
  });

  it("falls back to window.ethereum when nobody announces", () => {
    const win = new FakeWindow();
    win.ethereum = { ...fakeProvider(), isMetaMask: true };
    let latest: WalletOption[] = [];
    watchWallets(win, (options) => (latest = options));
    expect(latest).toHaveLength(1);
    expect(latest[0]!.announced).toBe(false);
    expect(latest[0]!.info.name).toBe("MetaMask");
  });
});

describe("connected wallet", () => {
  it("follows account and chain changes", async () => {
    const provider = fakeProvider();
    const connection = new WalletConnection({ info: { uuid: "u", name: "W", icon: "", rdns: "w" }, provider, announced: true });
    const states: unknown[] = [];
    connection.onChange((state) => states.push(state));
    await connection.connect();
    expect(connection.account).toBe("0x90F79bf6EB2c4f870365E785982E1f101E93b906");
    expect(connection.chainId).toBe(1337);
    provider.emit("chainChanged", "0x1");
    expect(connection.isOn(1)).toBe(true);
    provider.emit("accountsChanged", []);
    expect(connection.account).toBeNull();
    expect(states.length).toBe(3);
  });

  it("switches chain, adding it when the wallet does not know it", async () => {
    const provider = fakeProvider("0x1");
    const connection = new WalletConnection({ info: { uuid: "u", name: "W", icon: "", rdns: "w" }, provider, announced: true });
    await connection.connect();
    expect(await connection.switchChain({ chainId: 1337, chainName: "dev", rpcUrls: ["http://x"] })).toBe(1337);
    expect(await connection.switchChain({ chainId: 31337, chainName: "anvil", rpcUrls: ["http://y"] })).toBe(31337);
    expect(provider.calls.some((c) => c.method === "wallet_addEthereumChain")).toBe(true);
  });

  it("parses chain ids in hex and decimal", () => {
    expect(parseChainId("0x539")).toBe(1337);
    expect(parseChainId("1337")).toBe(1337);
    expect(parseChainId(1)).toBe(1);
    expect(parseChainId(null)).toBeNull();
  });
});
