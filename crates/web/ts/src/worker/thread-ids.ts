/**
 * Thread ids as the core makes them (automerge-repo's document ids: 16 random bytes in
 * base58check), made in the worker ahead of use so that the page's `store.loadThread` answers at
 * once with the id the worker's core then loads the bytes under.
 */

/** How many ids a page keeps ready: that many `loadThread` calls in one go. */
export const SPARE_THREAD_IDS = 8;

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** `count` fresh ids; none where there is no Web Crypto digest (a page not in a secure context). */
export async function freshThreadIds(count: number): Promise<string[]> {
  if (!globalThis.crypto?.subtle) return [];
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    // A version 4 UUID, as the core's DocumentId::new_v4.
    bytes[6] = (bytes[6]! & 0x0f) | 0x40;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const once = await crypto.subtle.digest("SHA-256", bytes);
    const twice = new Uint8Array(await crypto.subtle.digest("SHA-256", once));
    ids.push(base58([...bytes, ...twice.subarray(0, 4)]));
  }
  return ids;
}

function base58(bytes: number[]): string {
  const digits: number[] = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let j = 0; j < digits.length; j++) {
      carry += digits[j]! << 8;
      digits[j] = carry % 58;
      carry = Math.floor(carry / 58);
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = Math.floor(carry / 58);
    }
  }
  let out = "";
  for (const byte of bytes) {
    if (byte !== 0) break;
    out += "1";
  }
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i]!];
  return out;
}

/** Whether `bytes` start as an Automerge document or change does (its chunk's magic bytes). */
export function looksLikeAutomerge(bytes: Uint8Array): boolean {
  return bytes.length > 8 && bytes[0] === 0x85 && bytes[1] === 0x6f && bytes[2] === 0x4a && bytes[3] === 0x83;
}
