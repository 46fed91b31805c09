// Uploads to the gateway for publishing (docs/API.md, "Uploads"): the DDX1 ciphertext in
// Content-Range chunks, in order, resumed from what the gateway says arrived when a chunk is
// cut; then the metadata document, which the gateway stores in its canonical bytes.
import { problemFrom, type GatewayApi } from "./api";
import { ApiError } from "./errors";

export const UPLOAD_CHUNK = 512 * 1024; // under the gateway's max_request_bytes (1 MiB)
const RETRIES = 3;
const MAX_RATE_LIMIT_WAITS = 120; // a large upload outruns the gateway's requests per minute
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ChainCid {
  digest: `0x${string}`;
  codec: number;
}

export interface UploadOut {
  id: string;
  size: number;
  received: number;
  cid: string | null;
  chain: ChainCid | null;
}

export interface MetadataOut {
  cid: string;
  chain: ChainCid;
  size: number;
  sha256: string;
}

async function call<T>(api: GatewayApi, path: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(api.url(path), {
      ...init, headers: { Accept: "application/json", ...api.authHeaders(), ...(init.headers ?? {}) },
    });
  } catch {
    throw new ApiError(0, `Could not reach the gateway at ${api.baseUrl}.`, "network", "Check that it is running.");
  }
  if (!response.ok) {
    const problem = await problemFrom(response);
    const retryAfter = Number(response.headers.get("retry-after"));
    if (response.status === 429 && retryAfter > 0) problem.body.retry_after_seconds = retryAfter;
    throw problem;
  }
  return (await response.json()) as T;
}

export function startUpload(api: GatewayApi, size: number): Promise<UploadOut> {
  return call(api, "/v1/uploads", {
    method: "POST", body: JSON.stringify({ size }), headers: { "Content-Type": "application/json" },
  });
}

export function uploadStatus(api: GatewayApi, id: string): Promise<UploadOut> {
  return call(api, `/v1/uploads/${id}`, { method: "GET" });
}

export function putChunk(api: GatewayApi, upload: UploadOut, start: number, data: Uint8Array): Promise<UploadOut> {
  return call(api, `/v1/uploads/${upload.id}`, {
    method: "PUT",
    body: data as BodyInit,
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Range": `bytes ${start}-${start + data.length - 1}/${upload.size}`,
    },
  });
}

/** Regroups `chunks` into pieces of `size` bytes (the last one shorter). */
export async function* rechunk(chunks: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(size);
  let filled = 0;
  for await (let chunk of chunks) {
    while (chunk.length) {
      const take = Math.min(size - filled, chunk.length);
      buffer.set(chunk.subarray(0, take), filled);
      filled += take;
      chunk = chunk.subarray(take);
      if (filled === size) {
        yield buffer;
        buffer = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled) yield buffer.slice(0, filled);
}

/** Sends the ciphertext `chunks` (`size` bytes in all) and returns the completed upload with
 *  its CID. A chunk that fails to arrive is resumed from what the gateway received. */
export async function uploadCiphertext(api: GatewayApi, size: number, chunks: AsyncIterable<Uint8Array>,
                                       onProgress: (sent: number, total: number) => void,
                                       options: { rateLimitScale?: number } = {}): Promise<UploadOut> {
  let upload = await startUpload(api, size);
  onProgress(0, size);
  let start = 0;
  let waits = 0;
  for await (const piece of rechunk(chunks, UPLOAD_CHUNK)) {
    for (let attempt = 0; ; attempt++) {
      try {
        upload = await putChunk(api, upload, start, piece);
        break;
      } catch (error) {
        if (error instanceof ApiError && error.status === 429 && waits++ < MAX_RATE_LIMIT_WAITS) {
          await sleep(1000 * Number(error.body.retry_after_seconds ?? 1) * (options.rateLimitScale ?? 1));
          attempt--; // waiting out the rate limit is not a failed attempt
          continue;
        }
        if (attempt + 1 >= RETRIES || (error instanceof ApiError && error.status >= 400 && error.status !== 409)) throw error;
        const status = await uploadStatus(api, upload.id);
        if (status.received === start + piece.length) {
          upload = status;
          break;
        }
        if (status.received !== start) throw error;
      }
    }
    start += piece.length;
    onProgress(start, size);
  }
  if (!upload.cid || !upload.chain) throw new ApiError(0, "The gateway did not complete the upload.", "upload-incomplete");
  return upload;
}

export function uploadMetadata(api: GatewayApi, document: unknown): Promise<MetadataOut> {
  return call(api, "/v1/uploads/metadata", {
    method: "POST", body: JSON.stringify(document), headers: { "Content-Type": "application/json" },
  });
}
