/**
 * Browser sessions for the pages: an API key is exchanged once for a session secret that lives
 * in an HttpOnly cookie, so the key itself never sits in the browser. Only the secret's hash is
 * stored; the session ends at its expiry, on sign-out, or the moment its key is revoked.
 */
import { hashSecret, isWellFormedSecret, newLinkSecret } from "../links/secrets.ts";
import type { ApiKeyRole, RequestRepository, SessionRecord } from "../store/request-repository.ts";
import { hashApiKey } from "./api-keys.ts";

/** A working day: long enough for an operator's shift, short enough to lapse overnight. */
export const SESSION_SECONDS = 8 * 3600;

export interface SignedIn {
  /** The cookie's value; shown here once. */
  readonly secret: string;
  readonly keyId: string;
  readonly role: ApiKeyRole;
  readonly expiresAt: string;
}

type SessionStore = Pick<RequestRepository, "findActiveApiKey" | "createSession">;

/** A session for an active API key; undefined for an unknown or revoked key. */
export async function signIn(
  repository: SessionStore,
  rawKey: string,
  now: Date,
): Promise<SignedIn | undefined> {
  const key = await repository.findActiveApiKey(hashApiKey(rawKey));
  if (!key) return undefined;
  const secret = newLinkSecret();
  const expiresAt = new Date(now.getTime() + SESSION_SECONDS * 1000).toISOString();
  await repository.createSession({ secretHash: hashSecret(secret), keyId: key.id, expiresAt });
  return { secret, keyId: key.id, role: key.role, expiresAt };
}

export function findSession(
  repository: Pick<RequestRepository, "findSession">,
  secret: string,
): Promise<SessionRecord | undefined> {
  return isWellFormedSecret(secret)
    ? repository.findSession(hashSecret(secret))
    : Promise.resolve(undefined);
}

export async function signOut(
  repository: Pick<RequestRepository, "deleteSession">,
  secret: string,
): Promise<void> {
  if (isWellFormedSecret(secret)) await repository.deleteSession(hashSecret(secret));
}
