// Publishing one file from the browser, as `datadao publish FILE` does (dapp/publishing):
// a fresh content key → DDX1 encryption while uploading (and the file's sha256 on the way) →
// the key sealed to each gateway chosen and to the publisher's recovery key, if pasted → the metadata
// document → `publish` on chain (the page sends it).
import { sha256 } from "@noble/hashes/sha256";
import type { AssetKind, GatewayApi, Scope } from "./api";
import { CIPHER_NAME, ciphertextSize, DEFAULT_SEGMENT_SIZE, encryptBlob, randomContentKey } from "./crypto/ddx1";
import { fromBase64, seal, toBase64 } from "./crypto/sealedbox";
import { packFolder, type FolderFile } from "./packing";
import { uploadCiphertext, uploadMetadata, type ChainCid } from "./upload";

export const KINDS: AssetKind[] = ["dataset", "model", "algorithm"];
export const SCOPES: Scope[] = ["download", "compute"];
const TAG = /^[a-z0-9][a-z0-9._+-]{0,31}$/;

export class PublishInputError extends Error {}

export interface PublishForm {
  title: string;
  description: string;
  kind: AssetKind;
  tags: string;
  license: string;
}

export interface ListedFile {
  path: string;
  size: number;
  sha256: string;
}

export interface MetadataFields extends Omit<PublishForm, "tags"> {
  tags: string[];
  /** what `size` bytes hold: one file, or each file of the packed folder */
  files: ListedFile[];
  size: number;
  /** one entry per recipient, in `sealingRecipients` order */
  sealedKeys: SealedKeyEntry[];
  segmentSize: number;
  createdAt: Date;
}

export interface SealedKeyEntry {
  gateway_public_key: string;
  sealed_key: string;
}

/** Whom the content key is sealed to, in `sealed_keys` order, as dapp/publishing/gateways.py
 *  `sealing_recipients` orders them: the gateways as chosen, then the recovery key; each once. */
export function sealingRecipients(gatewayKeys: string[], recoveryKey: string | null): string[] {
  return [...new Set([...gatewayKeys, ...(recoveryKey ? [recoveryKey] : [])])];
}

function isX25519Key(text: string): boolean {
  try {
    return /^[A-Za-z0-9+/]+={0,2}$/.test(text) && fromBase64(text).length === 32;
  } catch {
    return false;
  }
}

/** The recovery public key from what `datadao keys recovery show` prints ("KEY (path)"), its
 *  `--json` ({"public_key": ...}) or the key alone; null for an empty field. */
export function parseRecoveryKey(text: string): string | null {
  const trimmed = text.trim();
  if (!trimmed) return null;
  let key = trimmed.split(/\s+/)[0]!;
  if (trimmed.startsWith("{")) {
    try {
      key = String((JSON.parse(trimmed) as { public_key?: unknown }).public_key ?? "");
    } catch {
      key = "";
    }
  }
  if (!isX25519Key(key)) {
    throw new PublishInputError("The recovery key is not a 32-byte base64 key: paste what `datadao keys recovery show` prints.");
  }
  return key;
}

/** "Rain, weather  ,rain" → ["rain", "weather"]; a tag the metadata refuses is an error. */
export function parseTags(text: string): string[] {
  const tags = [...new Set(text.split(",").map((tag) => tag.trim().toLowerCase()).filter(Boolean))];
  const bad = tags.find((tag) => !TAG.test(tag));
  if (bad !== undefined) throw new PublishInputError(`Tag "${bad}": use a-z, 0-9 and . _ + - (at most 32).`);
  if (tags.length > 32) throw new PublishInputError("At most 32 tags.");
  return tags;
}

export function checkForm(form: PublishForm, file: File | null, folder = false): void {
  if (!file) throw new PublishInputError("Pick a file or a folder to publish.");
  if (!form.title.trim()) throw new PublishInputError("Give it a title.");
  if (form.title.length > 200) throw new PublishInputError("The title is longer than 200 characters.");
  if (!form.license.trim()) throw new PublishInputError("Name a license (e.g. CC-BY-4.0).");
  if (!folder && (file.name.includes("/") || file.name === "." || file.name === "..")) {
    throw new PublishInputError(`The file name "${file.name}" cannot be published.`);
  }
  parseTags(form.tags);
}

/** The `datadao/asset-metadata@1` document of one encrypted file (dapp/metadata.py); the
 *  gateway validates it and stores its canonical bytes. */
export function metadataDocument(fields: MetadataFields): Record<string, unknown> {
  return {
    schema: "datadao/asset-metadata@1",
    title: fields.title,
    description: fields.description,
    kind: fields.kind,
    tags: fields.tags,
    license: fields.license,
    size: fields.size,
    files: fields.files,
    content: { encrypted: true, cipher: CIPHER_NAME, segment_size: fields.segmentSize, plaintext_size: fields.size },
    sealed_keys: fields.sealedKeys.map((entry) => ({ gateway_public_key: entry.gateway_public_key, sealed_key: entry.sealed_key })),
    created_at: fields.createdAt.toISOString().replace(/\.\d{3}Z$/, "+00:00"),
  };
}

export interface Uploaded {
  content: ChainCid;
  contentCid: string;
  metadata: ChainCid;
  metadataCid: string;
  /** of the packed bytes: the file's own for one file, the tar's for a folder */
  sha256: string;
}

const HASH_SLICE = 1024 * 1024;

function hexOf(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function sha256OfBlob(blob: Blob): Promise<string> {
  const hash = sha256.create();
  for (let at = 0; at < blob.size; at += HASH_SLICE) {
    hash.update(new Uint8Array(await blob.slice(at, at + HASH_SLICE).arrayBuffer()));
  }
  return hexOf(hash.digest());
}

/** What to publish: one file as it is, or a folder packed as dapp/packing.py packs it. */
export type Source = { kind: "file"; file: File } | { kind: "folder"; files: FolderFile[] };

/** Encrypt `source` under a fresh key sealed to each of `recipients` (default: this gateway's
 *  key), upload it and its metadata. */
export async function uploadSource(api: GatewayApi, source: Source, form: PublishForm,
                                   onProgress: (sent: number, total: number) => void,
                                   onStage: (text: string) => void = () => undefined,
                                   recipients?: string[]): Promise<Uploaded> {
  const tags = parseTags(form.tags);
  let blob: Blob;
  let listed: ListedFile[] | null = null;
  if (source.kind === "file") {
    checkForm(form, source.file);
    blob = source.file;
  } else {
    checkForm(form, source.files[0]?.file as File ?? null, true);
    const packed = packFolder(source.files);
    onStage(`Hashing ${packed.files.length} files…`);
    listed = [];
    for (const file of packed.files) listed.push({ path: file.path, size: file.size, sha256: await sha256OfBlob(file.file) });
    blob = packed.blob;
  }
  const keys = recipients?.length ? recipients : [(await api.gatewayInfo()).public_key];
  const contentKey = randomContentKey();
  const sealedKeys = keys.map((key) => ({ gateway_public_key: key, sealed_key: toBase64(seal(contentKey, fromBase64(key))) }));
  const hash = sha256.create();
  const encrypted = encryptBlob(blob, contentKey, {
    segmentSize: DEFAULT_SEGMENT_SIZE, onPlaintext: (plain) => hash.update(plain),
  });
  onStage("Encrypting and uploading…");
  const upload = await uploadCiphertext(api, ciphertextSize(blob.size), encrypted, onProgress);
  const digest = hexOf(hash.digest());
  contentKey.fill(0);
  const files = listed ?? [{ path: (source as { file: File }).file.name, size: blob.size, sha256: digest }];
  onStage("Storing the metadata…");
  const metadata = await uploadMetadata(api, metadataDocument({
    ...form, tags, files, size: blob.size, sealedKeys,
    segmentSize: DEFAULT_SEGMENT_SIZE, createdAt: new Date(),
  }));
  return { content: upload.chain!, contentCid: upload.cid!, metadata: metadata.chain, metadataCid: metadata.cid, sha256: digest };
}
