/**
 * API keys: 192 random bits behind a recognisable prefix, stored only as their SHA-256 (a
 * full-entropy key needs no slow hash, as with approval secrets).
 */
import { createHash, randomBytes } from "node:crypto";

export function newApiKey(): string {
  return `spca_${randomBytes(24).toString("base64url")}`;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}
