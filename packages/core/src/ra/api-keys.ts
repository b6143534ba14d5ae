/**
 * API keys, for machines: 192 random bits behind a recognisable prefix, stored only as their
 * SHA-256 (a full-entropy key needs no slow hash, as with approval secrets). Every key acts for
 * an owner, a person's email address: the requests it submits are that person's.
 */
import { createHash, randomBytes } from "node:crypto";
import * as v from "valibot";
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

const Owner = v.pipe(v.string(), v.maxLength(254), v.email());

/** Makes a key with `role` for `owner`, stores its hash, and returns the secret and record. */
export async function createApiKey(
  repository: Pick<RequestRepository, "createApiKey">,
  input: { readonly role: ApiKeyRole; readonly label: string; readonly owner: string },
): Promise<CreatedApiKey> {
  if (input.label.length > API_KEY_LABEL_MAX) {
    throw new PkiError(
      "API_KEY_LABEL_INVALID",
      `A label has at most ${API_KEY_LABEL_MAX} characters.`,
    );
  }
  if (!v.is(Owner, input.owner)) {
    throw new PkiError("API_KEY_OWNER_INVALID", `"${input.owner}" is not an email address.`);
  }
  const key = newApiKey();
  const record = await repository.createApiKey({ keyHash: hashApiKey(key), ...input });
  return { key, record };
}
