// libsodium's crypto_box_seal / crypto_box_seal_open (what dapp/crypto/sealing.py uses through
// PyNaCl's SealedBox), from the audited @noble primitives:
//   sealed = epk | XSalsa20-Poly1305(m, key, nonce)      (tag first, as crypto_box)
//   key    = HSalsa20(X25519(esk, pk), 0^16) ; nonce = BLAKE2b-192(epk | pk)
import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa";
import { x25519 } from "@noble/curves/ed25519";
import { blake2b } from "@noble/hashes/blake2b";

export const SEAL_OVERHEAD = 32 + 16;

export class SealedBoxError extends Error {}

function u32le(bytes: Uint8Array): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return Uint32Array.from({ length: bytes.length / 4 }, (_, i) => view.getUint32(4 * i, true));
}

function boxKey(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const shared = x25519.getSharedSecret(secretKey, publicKey);
  const sigma = u32le(new TextEncoder().encode("expand 32-byte k"));
  const out = new Uint32Array(8);
  hsalsa(sigma, u32le(shared), new Uint32Array(4), out);
  const key = new Uint8Array(32);
  const view = new DataView(key.buffer);
  out.forEach((word, i) => view.setUint32(4 * i, word, true));
  return key;
}

function sealNonce(ephemeralPublic: Uint8Array, recipientPublic: Uint8Array): Uint8Array {
  const input = new Uint8Array(64);
  input.set(ephemeralPublic, 0);
  input.set(recipientPublic, 32);
  return blake2b(input, { dkLen: 24 });
}

/** `message` sealed to `recipientPublic` (32 bytes); `ephemeralSecret` only for test vectors. */
export function seal(message: Uint8Array, recipientPublic: Uint8Array,
                     ephemeralSecret: Uint8Array = x25519.utils.randomPrivateKey()): Uint8Array {
  if (recipientPublic.length !== 32) throw new SealedBoxError("a gateway key is 32 bytes");
  const ephemeralPublic = x25519.getPublicKey(ephemeralSecret);
  const box = xsalsa20poly1305(boxKey(ephemeralSecret, recipientPublic),
                               sealNonce(ephemeralPublic, recipientPublic)).encrypt(message);
  const out = new Uint8Array(32 + box.length);
  out.set(ephemeralPublic, 0);
  out.set(box, 32);
  return out;
}

export function openSealed(sealed: Uint8Array, recipientSecret: Uint8Array): Uint8Array {
  if (sealed.length < SEAL_OVERHEAD) throw new SealedBoxError("sealed box is too short");
  const recipientPublic = x25519.getPublicKey(recipientSecret);
  const ephemeralPublic = sealed.slice(0, 32);
  try {
    return xsalsa20poly1305(boxKey(recipientSecret, ephemeralPublic),
                            sealNonce(ephemeralPublic, recipientPublic)).decrypt(sealed.slice(32));
  } catch {
    throw new SealedBoxError("sealed box cannot be opened with this key");
  }
}

export function toBase64(bytes: Uint8Array): string {
  let text = "";
  bytes.forEach((byte) => { text += String.fromCharCode(byte); });
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
