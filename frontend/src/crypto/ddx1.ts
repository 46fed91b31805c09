// DDX1, the encrypted segment format of dapp/crypto/segments.py, in the browser (WebCrypto).
// The spec and its test vectors: docs/DDX1.md and docs/ddx1-vectors.json.
//
//   header  = "DDX1" | version u8 (1) | segment_size u32 | plaintext_size u64 | salt 16 bytes
//   segment = AES-256-GCM(plaintext segment) | tag 16 bytes, at least one segment
//   key     = HKDF-SHA256(content_key, salt, info "datadao DDX1 segment key", 32 bytes)
//   nonce   = salt[0..4] | index u64 ;  AAD = header | index u64 | is_last u8   (big-endian)

export const MAGIC = [0x44, 0x44, 0x58, 0x31]; // "DDX1"
export const VERSION = 1;
export const HEADER_SIZE = 33;
export const TAG_SIZE = 16;
export const SALT_SIZE = 16;
export const KEY_SIZE = 32;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
export const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
export const CIPHER_NAME = "aes-256-gcm-ddx1";
const SEGMENT_KEY_INFO = new TextEncoder().encode("datadao DDX1 segment key");

export class Ddx1Error extends Error {}

export function segmentCount(plaintextSize: number, segmentSize: number): number {
  return Math.max(1, Math.ceil(plaintextSize / segmentSize));
}

/** Bytes of the DDX1 file for `plaintextSize` bytes of plaintext. */
export function ciphertextSize(plaintextSize: number, segmentSize = DEFAULT_SEGMENT_SIZE): number {
  return HEADER_SIZE + plaintextSize + TAG_SIZE * segmentCount(plaintextSize, segmentSize);
}

export function encodeHeader(segmentSize: number, plaintextSize: number, salt: Uint8Array): Uint8Array {
  if (salt.length !== SALT_SIZE) throw new Ddx1Error(`salt must be ${SALT_SIZE} bytes`);
  if (!(segmentSize > 0 && segmentSize <= MAX_SEGMENT_SIZE)) {
    throw new Ddx1Error(`segment size ${segmentSize} is out of range`);
  }
  if (!Number.isSafeInteger(plaintextSize) || plaintextSize < 0) {
    throw new Ddx1Error(`plaintext size ${plaintextSize} is out of range`);
  }
  const header = new Uint8Array(HEADER_SIZE);
  const view = new DataView(header.buffer);
  header.set(MAGIC, 0);
  view.setUint8(4, VERSION);
  view.setUint32(5, segmentSize);
  view.setBigUint64(9, BigInt(plaintextSize));
  header.set(salt, 17);
  return header;
}

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The AES-GCM of one file: its derived key, nonces and AAD. */
export class SegmentCipher {
  private constructor(private readonly key: CryptoKey, private readonly header: Uint8Array,
                      private readonly lastIndex: number) {}

  static async create(contentKey: Uint8Array, header: Uint8Array): Promise<SegmentCipher> {
    if (contentKey.length !== KEY_SIZE) throw new Ddx1Error(`content key must be ${KEY_SIZE} bytes`);
    const view = new DataView(header.buffer, header.byteOffset, header.length);
    const segmentSize = view.getUint32(5);
    const plaintextSize = Number(view.getBigUint64(9));
    const salt = header.slice(17, 33);
    const hkdf = await crypto.subtle.importKey("raw", contentKey as BufferSource, "HKDF", false,
                                               ["deriveKey"]);
    const key = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: salt as BufferSource, info: SEGMENT_KEY_INFO as BufferSource },
      hkdf, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    return new SegmentCipher(key, header, segmentCount(plaintextSize, segmentSize) - 1);
  }

  private params(index: number): AesGcmParams {
    const indexBytes = u64(index);
    return {
      name: "AES-GCM", tagLength: 128,
      iv: concat(this.header.slice(17, 21), indexBytes) as BufferSource,
      additionalData: concat(this.header, indexBytes,
                             Uint8Array.of(index === this.lastIndex ? 1 : 0)) as BufferSource,
    };
  }

  async seal(index: number, plaintext: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.encrypt(this.params(index), this.key,
                                                      plaintext as BufferSource));
  }

  async open(index: number, sealed: Uint8Array): Promise<Uint8Array> {
    try {
      return new Uint8Array(await crypto.subtle.decrypt(this.params(index), this.key,
                                                        sealed as BufferSource));
    } catch {
      throw new Ddx1Error(`encrypted segment ${index} failed authentication`);
    }
  }
}

export interface EncryptOptions {
  segmentSize?: number;
  salt?: Uint8Array; // random unless given (test vectors only)
  /** Sees each plaintext segment as it is read (to hash the file on the way). */
  onPlaintext?: (plaintext: Uint8Array) => void;
}

/** The DDX1 file of `source`, header first, then one sealed segment at a time: only one
 *  segment of the file is ever read into memory. */
export async function* encryptBlob(source: Blob, contentKey: Uint8Array,
                                   options: EncryptOptions = {}): AsyncGenerator<Uint8Array> {
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(SALT_SIZE));
  const header = encodeHeader(segmentSize, source.size, salt);
  const cipher = await SegmentCipher.create(contentKey, header);
  yield header;
  const count = segmentCount(source.size, segmentSize);
  for (let index = 0; index < count; index++) {
    const start = index * segmentSize;
    const plain = new Uint8Array(
      await source.slice(start, Math.min(start + segmentSize, source.size)).arrayBuffer());
    options.onPlaintext?.(plain);
    yield await cipher.seal(index, plain);
  }
}

/** The plaintext of a whole DDX1 file (for tests and small files). */
export async function decryptBytes(contentKey: Uint8Array, file: Uint8Array): Promise<Uint8Array> {
  if (file.length < HEADER_SIZE) throw new Ddx1Error("shorter than its DDX1 header");
  const header = file.slice(0, HEADER_SIZE);
  if (!MAGIC.every((byte, i) => header[i] === byte)) throw new Ddx1Error("not DDX1 (bad magic)");
  if (header[4] !== VERSION) throw new Ddx1Error(`DDX1 version ${header[4]} is not supported`);
  const view = new DataView(header.buffer);
  const segmentSize = view.getUint32(5);
  const plaintextSize = Number(view.getBigUint64(9));
  if (file.length !== ciphertextSize(plaintextSize, segmentSize)) {
    throw new Ddx1Error("encrypted content is cut or has extra bytes");
  }
  const cipher = await SegmentCipher.create(contentKey, header);
  const out = new Uint8Array(plaintextSize);
  let at = HEADER_SIZE;
  for (let index = 0; index < segmentCount(plaintextSize, segmentSize); index++) {
    const length = Math.min(segmentSize, plaintextSize - index * segmentSize);
    out.set(await cipher.open(index, file.slice(at, at + length + TAG_SIZE)), index * segmentSize);
    at += length + TAG_SIZE;
  }
  return out;
}

export function randomContentKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_SIZE));
}
