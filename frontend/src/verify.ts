// A download is handed to the user only if it is what the chain names. The registry stores each
// version's metadata CID (sha2-256 digest + codec); the metadata document, fetched from the
// gateway, must hash to that digest (a raw block: codec 0x55), and it declares the plaintext's
// size and the SHA-256 of each file. The plaintext must match: the one file's hash, or for a
// folder each member of the tar. A gateway cannot lie about either without being caught; what
// it can still do is refuse to serve. Hashing is WebCrypto over slices of the downloaded Blob,
// so a folder's members are hashed one at a time without joining the whole file again.

export const CODEC_RAW = 0x55;
export const MAX_METADATA_BYTES = 1024 * 1024;

export interface OnChainCid {
  /** 0x + 64 hex */
  digest: string;
  codec: number;
}

export interface DeclaredFile {
  path: string;
  size: number;
  sha256: string;
}

export interface DeclaredContent {
  size: number;
  files: DeclaredFile[];
}

/** Bytes the chain does not name: nothing is saved. */
export class ContentMismatchError extends Error {
  override name = "ContentMismatchError";
}

const hex = (bytes: Uint8Array) => [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");

export async function sha256Of(data: BufferSource): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** The CIDv1 text (base32, "b…") of an on-chain `Cid{digest, codec}`, as dapp/ipfs/cid.py writes it. */
export function cidText(cid: OnChainCid): string {
  const digest = cid.digest.replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{64}$/.test(digest) || (cid.codec !== 0x55 && cid.codec !== 0x70)) {
    throw new ContentMismatchError(`the chain holds a malformed CID (codec 0x${cid.codec.toString(16)})`);
  }
  const bytes = new Uint8Array([1, cid.codec, 0x12, 0x20, ...digest.match(/../g)!.map((pair) => parseInt(pair, 16))]);
  return `b${base32(bytes)}`;
}

/** The size and files `data` declares, if `data` is the metadata document the chain names. */
export async function checkedMetadata(data: Uint8Array, onChain: OnChainCid, what: string): Promise<DeclaredContent> {
  const cid = cidText(onChain);
  if (onChain.codec !== CODEC_RAW) {
    throw new ContentMismatchError(`the metadata ${cid} of ${what} is not a single raw block; the dApp cannot check it`);
  }
  if (data.length > MAX_METADATA_BYTES) throw new ContentMismatchError(`the metadata served for ${what} is over 1 MiB`);
  const digest = await sha256Of(data as Uint8Array<ArrayBuffer>);
  if (`0x${digest}` !== onChain.digest.toLowerCase()) {
    throw new ContentMismatchError(`the gateway sent metadata for ${what} that is not the ${cid} the chain names`);
  }
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data)) as Record<string, unknown>;
  } catch {
    throw new ContentMismatchError(`the metadata ${cid} of ${what} is not JSON`);
  }
  const content = document.content as { plaintext_size?: unknown } | undefined;
  const files = document.files;
  const valid =
    Number.isSafeInteger(document.size) && content?.plaintext_size === document.size && Array.isArray(files) && files.length > 0 &&
    files.every((f: DeclaredFile) => typeof f?.path === "string" && Number.isSafeInteger(f.size) && /^[0-9a-f]{64}$/.test(String(f.sha256)));
  if (!valid) throw new ContentMismatchError(`the metadata ${cid} of ${what} is not an asset metadata document`);
  return { size: document.size as number, files: files as DeclaredFile[] };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replace(/\0.*$/s, "");

function octal(bytes: Uint8Array): number {
  const digits = text(bytes).trim();
  if (!/^[0-7]+$/.test(digits)) throw new ContentMismatchError("it is not the folder's archive (a bad tar header)");
  return parseInt(digits, 8);
}

/** PAX records (`<len> key=value\n`): the `path` and `size` ones override the ustar header. */
function paxRecords(bytes: Uint8Array): Record<string, string> {
  const records: Record<string, string> = {};
  const body = new TextDecoder().decode(bytes);
  for (const line of body.split("\n")) {
    const match = /^\d+ ([^=]+)=(.*)$/s.exec(line);
    if (match) records[match[1]!] = match[2]!;
  }
  return records;
}

/** Why the tar in `blob` is not the folder `declared` lists (null: it is). */
async function archiveProblem(blob: Blob, declared: DeclaredFile[]): Promise<string | null> {
  const wanted = new Map(declared.map((file) => [file.path, file]));
  const seen = new Set<string>();
  let offset = 0;
  let pax: Record<string, string> = {};
  while (offset + 512 <= blob.size) {
    const header = new Uint8Array(await blob.slice(offset, offset + 512).arrayBuffer());
    if (header.every((byte) => byte === 0)) break; // the end-of-archive blocks
    const type = String.fromCharCode(header[156]!);
    let size = octal(header.subarray(124, 136));
    const prefix = text(header.subarray(345, 500));
    let name = (prefix ? `${prefix}/` : "") + text(header.subarray(0, 100));
    const dataStart = offset + 512;
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (type === "x") {
      pax = paxRecords(new Uint8Array(await blob.slice(dataStart, dataStart + size).arrayBuffer()));
      continue;
    }
    if (type === "g") continue;
    if (pax.path) name = pax.path;
    if (pax.size) size = Number(pax.size);
    pax = {};
    if (type === "5") continue; // a directory
    const entry = wanted.get(name);
    if ((type !== "0" && type !== "\0") || !entry || seen.has(name)) return `it holds ${JSON.stringify(name)}, which the metadata does not list`;
    seen.add(name);
    if (size !== entry.size) return `${name} is ${size} bytes, not ${entry.size}`;
    const digest = await sha256Of(await blob.slice(dataStart, dataStart + size).arrayBuffer());
    if (digest !== entry.sha256) return `${name} hashes to ${digest}, not ${entry.sha256}`;
  }
  const missing = [...wanted.keys()].filter((path) => !seen.has(path)).sort();
  return missing.length ? `${missing[0]} is missing` : null;
}

/** Why `blob` is not the content `declared` describes (null: it is), as dapp/client/gateway.py checks it. */
export async function contentProblem(blob: Blob, declared: DeclaredContent): Promise<string | null> {
  if (blob.size !== declared.size) return `it is ${blob.size} bytes, not the ${declared.size} declared`;
  const [only] = declared.files;
  if (declared.files.length === 1 && only!.size === declared.size) {
    const digest = await sha256Of(await blob.arrayBuffer());
    return digest === only!.sha256 ? null : `it hashes to ${digest}, not the declared ${only!.sha256}`;
  }
  try {
    return await archiveProblem(blob, declared.files);
  } catch (error) {
    return error instanceof ContentMismatchError ? error.message : `it is not the folder's archive (${String(error)})`;
  }
}
