import { describe, expect, it } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import { hashMessage, recoverAddress, hexToString } from "viem";
import { parseSiweMessage, validateSiweMessage } from "viem/siwe";
import { GatewayApi } from "./api";
import { ForeignSignInError, SignInMessageError, WrongNetworkError } from "./errors";
import { signInMessage, SessionStore, sessionKey, signInWithEthereum, type StorageLike } from "./siwe";

const ACCOUNT = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");

describe("EIP-4361 message", () => {
  const fields = {
    gateway: { domain: "127.0.0.1:8000", origin: "http://127.0.0.1:8000" },
    account: ACCOUNT.address.toLowerCase() as `0x${string}`,
    chainId: 1337,
    nonce: "abcdef123456",
    issuedAt: new Date("2025-01-02T03:04:05.000Z"),
  };

  it("has the standard's fields in the standard's order, byte for byte what the gateway parses", () => {
    expect(signInMessage(fields)).toBe(
      [
        "127.0.0.1:8000 wants you to sign in with your Ethereum account:",
        ACCOUNT.address, // checksummed
        "",
        "Sign in to the DataDAO Exchange gateway.",
        "",
        "URI: http://127.0.0.1:8000",
        "Version: 1",
        "Chain ID: 1337",
        "Nonce: abcdef123456",
        "Issued At: 2025-01-02T03:04:05.000Z",
        "Expiration Time: 2025-01-02T04:04:05.000Z",
      ].join("\n"),
    );
  });

  it("parses back to this gateway, account, nonce and chain, valid for the hour only", () => {
    const parsed = parseSiweMessage(signInMessage(fields));
    expect(parsed).toMatchObject({ domain: "127.0.0.1:8000", uri: "http://127.0.0.1:8000", chainId: 1337, nonce: "abcdef123456", address: ACCOUNT.address });
    const valid = (time: string) =>
      validateSiweMessage({ message: parsed, domain: "127.0.0.1:8000", nonce: "abcdef123456", address: ACCOUNT.address, time: new Date(time) });
    expect(valid("2025-01-02T03:30:00Z")).toBe(true);
    expect(valid("2025-01-02T04:04:05Z")).toBe(false);
  });

  it("refuses a gateway nonce the standard does not allow (short, or carrying more lines)", () => {
    for (const nonce of ["short", "abcdef123456\nURI: https://evil.example"]) {
      expect(() => signInMessage({ ...fields, nonce })).toThrow(SignInMessageError);
      expect(() => signInMessage({ ...fields, nonce })).toThrow(/^Cannot sign in to http:\/\/127\.0\.0\.1:8000: Invalid .* field "nonce"\. .*Nothing was signed\.$/);
    }
  });

  it("names a gateway host viem's writer does not take, in one line", () => {
    const gateway = { domain: "gw:8000", origin: "http://gw:8000" };
    expect(() => signInMessage({ ...fields, gateway })).toThrow(/^Cannot sign in to http:\/\/gw:8000: Invalid .* field "domain"\. [^\n]*$/);
  });
});

describe("sign-in", () => {
  it("signs the gateway's challenge with personal_sign and keeps the token", async () => {
    const posted: { message: string; signature: `0x${string}` }[] = [];
    const fetcher = async (url: string, init?: RequestInit) => {
      if (url.endsWith("/v1/auth/nonce")) {
        return Response.json({ nonce: "n0nce1234567", expires_at: "", domain: "gw.example", uri: "https://gw.example", chain_id: 1337 });
      }
      const body = JSON.parse(String(init?.body));
      posted.push(body);
      return Response.json({ token: "tok", account: ACCOUNT.address, expires_at: "2999-01-01T00:00:00.000Z", token_type: "Bearer" });
    };
    const provider = {
      request: async ({ method, params }: { method: string; params?: unknown }) => {
        if (method === "eth_chainId") return "0x539";
        expect(method).toBe("personal_sign");
        const [hex, address] = params as [`0x${string}`, string];
        expect(address).toBe(ACCOUNT.address);
        return ACCOUNT.signMessage({ message: hexToString(hex) });
      },
    };
    const api = new GatewayApi("https://gw.example", () => null, fetcher);
    const session = await signInWithEthereum({ api, provider, account: ACCOUNT.address, now: () => new Date("2025-05-05T00:00:00Z") });
    expect(session).toEqual({ token: "tok", account: ACCOUNT.address, expiresAt: "2999-01-01T00:00:00.000Z" });
    expect(posted[0]!.message).toContain("Nonce: n0nce1234567");
    expect(posted[0]!.message).toContain("Expiration Time: 2025-05-05T01:00:00.000Z");
    expect(await recoverAddress({ hash: hashMessage(posted[0]!.message), signature: posted[0]!.signature })).toBe(ACCOUNT.address);
  });
});

describe("sign-in against a hostile gateway", () => {
  // the honest gateway's challenge, as a gateway at `baseUrl` relays it word for word
  const relaying = (baseUrl: string, challenge: Record<string, unknown>) => {
    const asked: string[] = [];
    const posted: unknown[] = [];
    const fetcher = async (url: string, init?: RequestInit) => {
      if (url.endsWith("/v1/auth/nonce")) return Response.json({ nonce: "n0nce1234567", expires_at: "", ...challenge });
      posted.push(JSON.parse(String(init?.body)));
      return Response.json({ token: "stolen", account: ACCOUNT.address, expires_at: "2999-01-01T00:00:00.000Z", token_type: "Bearer" });
    };
    const provider = {
      request: async ({ method, params }: { method: string; params?: unknown }) => {
        asked.push(method);
        if (method === "eth_chainId") return "0x539";
        return ACCOUNT.signMessage({ message: hexToString((params as [`0x${string}`])[0]) });
      },
    };
    const signIn = () => signInWithEthereum({ api: new GatewayApi(baseUrl, () => null, fetcher), provider, account: ACCOUNT.address });
    return { asked, posted, signIn };
  };
  const honest = { domain: "gw.example", uri: "https://gw.example", chain_id: 1337 };

  it("refuses a relayed challenge before the wallet is asked to sign", async () => {
    const { asked, posted, signIn } = relaying("https://evil.example", honest);
    await expect(signIn()).rejects.toThrow(ForeignSignInError);
    await expect(signIn()).rejects.toThrow(/asked you to sign in to https:\/\/gw\.example/);
    expect(asked).not.toContain("personal_sign");
    expect(posted).toEqual([]);
  });

  it("refuses a lookalike origin and another port on the same host", async () => {
    for (const [baseUrl, uri] of [["https://gw.example.evil", "https://gw.example"], ["http://127.0.0.1:8000", "http://127.0.0.1:80001"]]) {
      const { asked, signIn } = relaying(baseUrl!, { ...honest, domain: new URL(baseUrl!).host, uri });
      await expect(signIn()).rejects.toThrow(ForeignSignInError);
      expect(asked).not.toContain("personal_sign");
    }
  });

  it("refuses a challenge for another chain than the wallet's", async () => {
    const { asked, posted, signIn } = relaying("https://gw.example", { ...honest, chain_id: 1 });
    await expect(signIn()).rejects.toThrow(WrongNetworkError);
    expect(asked).not.toContain("personal_sign");
    expect(posted).toEqual([]);
  });

  it("signs for the gateway it talks to, on the wallet's chain", async () => {
    const { posted, signIn } = relaying("https://gw.example/", honest);
    await signIn();
    const { message } = posted[0] as { message: string };
    expect(message.split("\n")[0]).toBe("gw.example wants you to sign in with your Ethereum account:");
    expect(message).toContain("URI: https://gw.example\nVersion: 1\nChain ID: 1337\n");
  });
});

describe("session store", () => {
  const memory = (): StorageLike & { data: Map<string, string> } => {
    const data = new Map<string, string>();
    return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
  };

  it("belongs to one account, survives a reload, and expires", () => {
    const storage = memory();
    let now = Date.parse("2025-01-01T00:00:00Z");
    const store = new SessionStore(storage, () => now);
    store.set({ token: "t", account: ACCOUNT.address, expiresAt: "2025-01-01T01:00:00Z" });
    expect(store.forAccount(ACCOUNT.address.toLowerCase())?.token).toBe("t");
    expect(store.forAccount("0x0000000000000000000000000000000000000001")).toBeNull();
    expect(new SessionStore(storage, () => now).token()).toBe("t");
    now += 3600_000;
    expect(store.get()).toBeNull();
    expect(storage.data.size).toBe(0);
  });

  it("keeps one gateway's token from another gateway (a ?gateway= page of the same origin)", () => {
    const storage = memory();
    const honest = new SessionStore(storage, undefined, sessionKey("http://127.0.0.1:8000/"));
    honest.set({ token: "honest-token", account: ACCOUNT.address, expiresAt: "2999-01-01T00:00:00Z" });
    const hostile = new SessionStore(storage, undefined, sessionKey("http://127.0.0.1:9000"));
    expect(hostile.token()).toBeNull();
    expect(new SessionStore(storage, undefined, sessionKey("http://127.0.0.1:8000")).token()).toBe("honest-token");
  });
});
