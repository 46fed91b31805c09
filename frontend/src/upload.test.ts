import { afterEach, describe, expect, it, vi } from "vitest";
import { GatewayApi } from "./api";
import { UPLOAD_CHUNK, uploadCiphertext } from "./upload";

/** The gateway's upload routes in memory, with faults to inject. */
function fakeGateway(faults: { cutAfterStoring?: number; rateLimitAt?: number }) {
  let stored = new Uint8Array(0);
  let size = 0;
  let puts = 0;
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
  const state = () => ({ id: "u1", size, received: stored.length, cid: stored.length === size ? "bafyfake" : null,
                         chain: stored.length === size ? { digest: "0x00", codec: 85 } : null });
  const fetcher = vi.fn(async (_url: string, init?: RequestInit) => {
    if (init?.method === "POST") {
      size = JSON.parse(String(init.body)).size;
      return json(state(), 201);
    }
    if (init?.method === "GET") return json(state());
    puts++;
    if (puts === faults.rateLimitAt) return json({ type: "x/rate-limited", detail: "slow down" }, 429, { "retry-after": "1" });
    const [, first] = /bytes (\d+)-/.exec(new Headers(init!.headers).get("content-range")!)!;
    if (Number(first) !== stored.length) return json({ type: "x/upload-offset-mismatch", detail: "gap" }, 409);
    const body = init!.body as Uint8Array;
    const next = new Uint8Array(stored.length + body.length);
    next.set(stored);
    next.set(body, stored.length);
    stored = next;
    if (puts === faults.cutAfterStoring) throw new TypeError("network error"); // stored, answer lost
    return json(state());
  });
  return { fetcher, stored: () => stored, url: "http://gw" };
}

async function* pieces(data: Uint8Array) {
  for (let at = 0; at < data.length; at += 65_552) yield data.subarray(at, at + 65_552);
}

afterEach(() => vi.unstubAllGlobals());

describe("uploading ciphertext", () => {
  const data = Uint8Array.from({ length: 3 * UPLOAD_CHUNK + 123 }, (_, i) => i % 251);

  it("resumes from what the gateway received when an answer is lost, and waits out a rate limit", async () => {
    const gateway = fakeGateway({ cutAfterStoring: 2, rateLimitAt: 4 });
    vi.stubGlobal("fetch", gateway.fetcher);
    const progress: number[] = [];
    const done = await uploadCiphertext(new GatewayApi(gateway.url), data.length, pieces(data),
      (sent) => progress.push(sent), { rateLimitScale: 0.001 });
    expect(done.cid).toBe("bafyfake");
    expect(Buffer.compare(gateway.stored(), data)).toBe(0); // no chunk twice, none missing
    expect(progress.at(-1)).toBe(data.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it("stops at an answer that retrying cannot change", async () => {
    const gateway = fakeGateway({});
    vi.stubGlobal("fetch", vi.fn(async (url: string, init?: RequestInit) => init?.method === "PUT"
      ? new Response(JSON.stringify({ type: "x/not-ddx1", detail: "not a DDX1 file" }), { status: 422 })
      : gateway.fetcher(url, init)));
    await expect(uploadCiphertext(new GatewayApi(gateway.url), data.length, pieces(data), () => undefined))
      .rejects.toThrow("not a DDX1 file");
  });
});
