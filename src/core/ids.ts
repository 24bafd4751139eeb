import { randomFillSync } from "node:crypto";

/** Random bytes for 256 ids, drawn from the system's secure source at once. */
const POOL_BYTES = 16 * 256;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let taken = POOL_BYTES;
/** The id's text is written here, then read as one flat string. */
const text = Buffer.from("00000000-0000-4000-8000-000000000000", "latin1");
/** Where each of the 16 bytes goes in the text. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const HEX = Buffer.from("0123456789abcdef", "latin1");

/**
 * A random (version 4) UUID, as `crypto.randomUUID()` makes, for ids made per job: it draws its
 * random bytes in batches and returns a flat string (Node's own is built from 20 pieces, which
 * costs about 400 bytes per id until it is flattened).
 * @internal
 */
export function newUuid(): string {
  if (taken === POOL_BYTES) {
    randomFillSync(pool);
    taken = 0;
  }
  const from = taken;
  taken += 16;
  for (let i = 0; i < 16; i++) {
    let byte = pool[from + i]!;
    if (i === 6) byte = (byte & 0x0f) | 0x40;
    else if (i === 8) byte = (byte & 0x3f) | 0x80;
    const at = AT[i]!;
    text[at] = HEX[byte >> 4]!;
    text[at + 1] = HEX[byte & 0x0f]!;
  }
  return text.toString("latin1", 0, 36);
}
