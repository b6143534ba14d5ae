/**
 * API keys: 192 random bits behind a recognisable prefix, stored only as their SHA-256 (a
 * full-entropy key needs no slow hash, as with approval secrets).
 */
import { createHash, randomBytes } from "node:crypto";
import { PkiError } from "../errors.ts";
import type { ApiKeyRecord, ApiKeyRole, RequestRepository } from "../store/request-repository.ts";

export function newApiKey(): string {
  return `spca_${randomBytes(24).toString("base64url")}`;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** A key as created: the secret appears here once and is stored only as its hash. */
export interface CreatedApiKey {
  readonly key: string;
  readonly record: ApiKeyRecord;
}

export const API_KEY_LABEL_MAX = 200;

/** A key's public id: the first 16 hex digits of its SHA-256. */
export const API_KEY_ID = /^[0-9a-f]{16}$/;

/** Makes a key with `role`, stores its hash, and returns the secret with the stored record. */
export async function createApiKey(
  repository: Pick<RequestRepository, "createApiKey">,
  role: ApiKeyRole,
  label: string,
): Promise<CreatedApiKey> {
  if (label.length > API_KEY_LABEL_MAX) {
    throw new PkiError(
      "API_KEY_LABEL_INVALID",
      `A label has at most ${API_KEY_LABEL_MAX} characters.`,
    );
  }
  const key = newApiKey();
  const record = await repository.createApiKey({ keyHash: hashApiKey(key), role, label });
  return { key, record };
}
