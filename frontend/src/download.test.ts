import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { downloadWithResume, parseContentRange, parseFilename, sha256Hex } from "./download";

const DATA = new Uint8Array(Array.from({ length: 1000 }, (_, i) => i % 251));

/** A server that serves DATA with Range + If-Range, and breaks the first body after `breakAt` bytes. */
function server(options: { breakAt?: number; etag?: string; changeEtagAfterBreak?: string } = {}) {
  const requests: Record<string, string>[] = [];
  let broken = false;
  let etag = options.etag ?? '"v1"';
  const fetcher = async (_url: string, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    requests.push(headers);
    let start = 0;
    let status = 200;
    const match = /bytes=(\d+)-/.exec(headers.Range ?? "");
    if (match && (!headers["If-Range"] || headers["If-Range"] === etag)) {
      start = Number(match[1]);
      status = 206;
    }
    const body = DATA.slice(start);
    const cut = !broken && options.breakAt !== undefined ? options.breakAt - start : null;
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // error() drops queued chunks: deliver the bytes first, break on the next pull
        if (cut !== null) {
          if (pulls++ === 0) {
            broken = true;
            controller.enqueue(body.slice(0, cut));
          } else {
            if (options.changeEtagAfterBreak) etag = options.changeEtagAfterBreak;
            controller.error(new TypeError("network error"));
          }
          return;
        }
        const offset = pulls++ * 300;
        if (offset >= body.length) controller.close();
        else controller.enqueue(body.slice(offset, offset + 300));
      },
    });
    const responseHeaders: Record<string, string> = {
      ETag: etag,
      "Content-Length": String(body.length),
      "Content-Disposition": "attachment; filename=\"a_b.csv\"; filename*=UTF-8''a%C3%A9b.csv",
    };
    if (status === 206) responseHeaders["Content-Range"] = `bytes ${start}-${DATA.length - 1}/${DATA.length}`;
    return new Response(stream, { status, headers: responseHeaders });
  };
  return { fetcher, requests };
}

const joined = (chunks: Uint8Array[]) => Buffer.concat(chunks.map((c) => Buffer.from(c)));

describe("headers", () => {
  it("parses Content-Range and Content-Disposition", () => {
    expect(parseContentRange("bytes 100-199/1000")).toEqual({ start: 100, end: 199, total: 1000 });
    expect(parseContentRange("bytes 0-0/*")).toEqual({ start: 0, end: 0, total: null });
    expect(parseContentRange("items 1-2/3")).toBeNull();
    expect(parseFilename("attachment; filename=\"x.tar\"")).toBe("x.tar");
    expect(parseFilename("attachment; filename=\"a_b\"; filename*=UTF-8''a%C3%A9b.csv")).toBe("aéb.csv");
    expect(parseFilename(null)).toBeNull();
  });
});

describe("download with progress and resume", () => {
  it("reports progress up to the total", async () => {
    const { fetcher } = server();
    const seen: number[] = [];
    const result = await downloadWithResume({ url: "u", fetch: fetcher, onProgress: (p) => seen.push(p.received) });
    expect(joined(result.chunks)).toEqual(Buffer.from(DATA));
    expect(seen).toEqual([0, 300, 600, 900, 1000]);
    expect(result).toMatchObject({ bytes: 1000, total: 1000, filename: "aéb.csv", resumes: 0, restarts: 0 });
  });

  it("resumes a broken transfer with Range and If-Range", async () => {
    const { fetcher, requests } = server({ breakAt: 400 });
    const result = await downloadWithResume({ url: "u", fetch: fetcher, sleep: async () => undefined });
    expect(joined(result.chunks)).toEqual(Buffer.from(DATA));
    expect(requests[1]).toMatchObject({ Range: "bytes=400-", "If-Range": '"v1"' });
    expect(result.resumes).toBe(1);
  });

  it("starts over when the file changed in between (server answers 200)", async () => {
    const { fetcher } = server({ breakAt: 400, changeEtagAfterBreak: '"v2"' });
    const result = await downloadWithResume({ url: "u", fetch: fetcher, sleep: async () => undefined });
    expect(joined(result.chunks)).toEqual(Buffer.from(DATA));
    expect(result.restarts).toBe(1);
    expect(result.etag).toBe('"v2"');
  });

  it("gives up after maxResumes and says how far it got", async () => {
    const fetcher = async () => { throw new TypeError("Failed to fetch"); };
    await expect(downloadWithResume({ url: "u", fetch: fetcher, maxResumes: 2, sleep: async () => undefined })).rejects.toThrow(
      /broke off 3 times \(could not connect\); 0 bytes arrived/,
    );
  });

  it("raises the gateway's problem for a 403", async () => {
    const fetcher = async () =>
      new Response(JSON.stringify({ detail: "no download license", hint: "buy one" }), { status: 403, headers: { "Content-Type": "application/problem+json" } });
    await expect(downloadWithResume({ url: "u", fetch: fetcher })).rejects.toMatchObject({ status: 403, detail: "no download license" });
  });

  it("hashes the bytes like sha256sum", async () => {
    expect(await sha256Hex([DATA.slice(0, 10), DATA.slice(10)])).toBe(`0x${createHash("sha256").update(DATA).digest("hex")}`);
  });
});
