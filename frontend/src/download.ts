// A licensed download with a progress bar: fetch streaming, and when the connection drops,
// resume with `Range: bytes=<received>-` guarded by `If-Range: <ETag>` so that bytes of two
// different versions are never glued together. The gateway serves 206 for a range (docs/API.md).
import { problemFrom, type FetchLike } from "./api";

export interface Progress {
  received: number;
  total: number | null;
  /** 1 for the first request, +1 per resume */
  attempt: number;
  resumed: boolean;
}

export interface DownloadOptions {
  url: string;
  fetch: FetchLike;
  headers?: Record<string, string>;
  onProgress?: (progress: Progress) => void;
  /** How many times a broken transfer is resumed before giving up. */
  maxResumes?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
}

export interface DownloadResult {
  chunks: Uint8Array[];
  bytes: number;
  total: number | null;
  etag: string | null;
  filename: string | null;
  contentType: string | null;
  /** how many times the transfer was resumed */
  resumes: number;
  /** how many times the server ignored the range (file changed) and it started over */
  restarts: number;
}

export class DownloadError extends Error {
  override name = "DownloadError";
}

/** `bytes 100-199/1000` → {start: 100, end: 199, total: 1000}; `*` total → null. */
export function parseContentRange(header: string | null): { start: number; end: number; total: number | null } | null {
  if (!header) return null;
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (!match) return null;
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === "*" ? null : Number(match[3]) };
}

/** The filename of `Content-Disposition: attachment; filename="a.csv"` (or filename*=UTF-8''). */
export function parseFilename(header: string | null): string | null {
  if (!header) return null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!.trim());
    } catch {
      /* fall through to the plain form */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(header);
  return plain ? plain[1]!.trim() : null;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function retriable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export async function downloadWithResume(options: DownloadOptions): Promise<DownloadResult> {
  const maxResumes = options.maxResumes ?? 5;
  const sleep = options.sleep ?? defaultSleep;
  const delay = options.retryDelayMs ?? 500;
  const result: DownloadResult = {
    chunks: [],
    bytes: 0,
    total: null,
    etag: null,
    filename: null,
    contentType: null,
    resumes: 0,
    restarts: 0,
  };
  let attempt = 0;
  let failures = 0;

  const startOver = () => {
    result.chunks = [];
    result.bytes = 0;
    result.restarts += 1;
  };

  const retryOrThrow = async (reason: string) => {
    failures += 1;
    if (failures > maxResumes) {
      throw new DownloadError(`the download broke off ${failures} times (${reason}); ${result.bytes} bytes arrived`);
    }
    result.resumes += 1;
    await sleep(delay * failures);
  };

  for (;;) {
    attempt += 1;
    const headers: Record<string, string> = { ...options.headers };
    const resuming = result.bytes > 0;
    if (resuming) {
      headers.Range = `bytes=${result.bytes}-`;
      if (result.etag) headers["If-Range"] = result.etag;
    }
    let response: Response;
    try {
      response = await options.fetch(options.url, { headers, signal: options.signal });
    } catch (error) {
      if ((error as Error)?.name === "AbortError") throw error;
      await retryOrThrow("could not connect");
      continue;
    }

    if (response.status === 416 && result.total !== null && result.bytes === result.total) break;
    if (!response.ok) {
      if (retriable(response.status)) {
        await retryOrThrow(`server answered ${response.status}`);
        continue;
      }
      throw await problemFrom(response);
    }

    const etag = response.headers.get("ETag");
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get("Content-Range"));
      if (!range || range.start !== result.bytes || (result.etag && etag && etag !== result.etag)) {
        // not the continuation we asked for: start again from the first byte
        startOver();
        result.etag = null;
        await response.body?.cancel().catch(() => undefined);
        continue;
      }
      if (range.total !== null) result.total = range.total;
    } else {
      // 200: the whole file. On a resume it means the file changed (If-Range failed).
      if (resuming) startOver();
      const length = response.headers.get("Content-Length");
      result.total = length === null ? null : Number(length);
    }
    result.etag = etag ?? result.etag;
    result.filename = parseFilename(response.headers.get("Content-Disposition")) ?? result.filename;
    result.contentType = response.headers.get("Content-Type") ?? result.contentType;

    const report = () =>
      options.onProgress?.({ received: result.bytes, total: result.total, attempt, resumed: result.resumes > 0 });
    report();
    if (!response.body) throw new DownloadError("the server sent no body");
    const reader = response.body.getReader();
    let broken = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (value && value.length) {
          result.chunks.push(value);
          result.bytes += value.length;
          report();
        }
      }
    } catch (error) {
      if ((error as Error)?.name === "AbortError" || options.signal?.aborted) throw error;
      broken = true;
    }
    if (!broken && (result.total === null || result.bytes >= result.total)) break;
    await retryOrThrow(broken ? "connection lost" : "ended early");
  }

  if (result.total !== null && result.bytes !== result.total) {
    throw new DownloadError(`expected ${result.total} bytes, received ${result.bytes}`);
  }
  return result;
}

/** SHA-256 of the downloaded bytes, as 0x-hex (WebCrypto). */
export async function sha256Hex(chunks: readonly Uint8Array[]): Promise<`0x${string}`> {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  return `0x${[...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}
