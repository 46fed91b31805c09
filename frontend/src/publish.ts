// Publishing one file from the browser, as `datadao publish FILE` does (dapp/publishing):
// a fresh content key → DDX1 encryption while uploading (and the file's sha256 on the way) →
// the key sealed to the gateway → the metadata document → `publish` on chain (the page sends it).
import { sha256 } from "@noble/hashes/sha256";
import type { AssetKind, GatewayApi, Scope } from "./api";
import { CIPHER_NAME, ciphertextSize, DEFAULT_SEGMENT_SIZE, encryptBlob, randomContentKey } from "./crypto/ddx1";
import { fromBase64, seal, toBase64 } from "./crypto/sealedbox";
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

export interface MetadataFields extends Omit<PublishForm, "tags"> {
  tags: string[];
  fileName: string;
  size: number;
  sha256: string;
  gatewayPublicKey: string;
  sealedKey: string;
  segmentSize: number;
  createdAt: Date;
}

/** "Rain, weather  ,rain" → ["rain", "weather"]; a tag the metadata refuses is an error. */
export function parseTags(text: string): string[] {
  const tags = [...new Set(text.split(",").map((tag) => tag.trim().toLowerCase()).filter(Boolean))];
  const bad = tags.find((tag) => !TAG.test(tag));
  if (bad !== undefined) throw new PublishInputError(`Tag "${bad}": use a-z, 0-9 and . _ + - (at most 32).`);
  if (tags.length > 32) throw new PublishInputError("At most 32 tags.");
  return tags;
}

export function checkForm(form: PublishForm, file: File | null): void {
  if (!file) throw new PublishInputError("Pick a file to publish.");
  if (!form.title.trim()) throw new PublishInputError("Give it a title.");
  if (form.title.length > 200) throw new PublishInputError("The title is longer than 200 characters.");
  if (!form.license.trim()) throw new PublishInputError("Name a license (e.g. CC-BY-4.0).");
  if (file.name.includes("/") || file.name === "." || file.name === "..") {
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
    files: [{ path: fields.fileName, size: fields.size, sha256: fields.sha256 }],
    content: { encrypted: true, cipher: CIPHER_NAME, segment_size: fields.segmentSize, plaintext_size: fields.size },
    sealed_keys: [{ gateway_public_key: fields.gatewayPublicKey, sealed_key: fields.sealedKey }],
    created_at: fields.createdAt.toISOString().replace(/\.\d{3}Z$/, "+00:00"),
  };
}

export interface Uploaded {
  content: ChainCid;
  contentCid: string;
  metadata: ChainCid;
  metadataCid: string;
  sha256: string;
}

/** Encrypt `file` under a fresh key sealed to the gateway, upload it and its metadata. */
export async function uploadFile(api: GatewayApi, file: File, form: PublishForm,
                                 onProgress: (sent: number, total: number) => void): Promise<Uploaded> {
  checkForm(form, file);
  const gateway = await api.gatewayInfo();
  const contentKey = randomContentKey();
  const sealedKey = toBase64(seal(contentKey, fromBase64(gateway.public_key)));
  const hash = sha256.create();
  const encrypted = encryptBlob(file, contentKey, {
    segmentSize: DEFAULT_SEGMENT_SIZE, onPlaintext: (plain) => hash.update(plain),
  });
  const upload = await uploadCiphertext(api, ciphertextSize(file.size), encrypted, onProgress);
  const digest = [...hash.digest()].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  contentKey.fill(0);
  const metadata = await uploadMetadata(api, metadataDocument({
    ...form, tags: parseTags(form.tags), fileName: file.name, size: file.size, sha256: digest,
    gatewayPublicKey: gateway.public_key, sealedKey, segmentSize: DEFAULT_SEGMENT_SIZE, createdAt: new Date(),
  }));
  return { content: upload.chain!, contentCid: upload.cid!, metadata: metadata.chain, metadataCid: metadata.cid, sha256: digest };
}
