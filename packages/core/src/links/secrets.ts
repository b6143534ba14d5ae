/**
 * Link secrets (approval links, request status-page links, browser sessions): 256 random
 * bits, base64url in the link or cookie, stored only as a SHA-256 hash. A hash suffices (no
 * slow KDF): the secret has full entropy, so it cannot be guessed from its hash, and lookups
 * by hash need no constant-time comparison.
 */
import { createHash, randomBytes } from "node:crypto";

const SECRET_BYTES = 32;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newLinkSecret(): string {
  return randomBytes(SECRET_BYTES).toString("base64url");
}

/** False for anything that cannot be a secret we issued, so it is refused before any lookup. */
export function isWellFormedSecret(value: string): boolean {
  return SECRET_PATTERN.test(value);
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}
