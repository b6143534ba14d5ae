/**
 * Browser sessions for the pages. A person signs in through the OpenID provider; a machine's
 * API key may also be exchanged once for a session. Either way the browser holds only a
 * session secret in an HttpOnly cookie, and only the secret's hash is stored. A session ends at
 * its expiry, on sign-out, or (for a key) the moment its key is revoked.
 */
import type { Role } from "../identity/config.ts";
import { type Principal, principalOfKey, principalOfPerson } from "../identity/principal.ts";
import { hashSecret, isWellFormedSecret, newLinkSecret } from "../links/secrets.ts";
import type {
  RequestRepository,
  SessionRecord,
  SignedInPerson,
} from "../store/request-repository.ts";
import { hashApiKey } from "./api-keys.ts";

/** A working day: long enough for an operator's shift, short enough to lapse overnight. */
export const SESSION_SECONDS = 8 * 3600;

export interface SignedIn {
  /** The cookie's value; shown here once. */
  readonly secret: string;
  readonly principal: Principal;
  readonly expiresAt: string;
}

/** A session as the pages use it: who, and until when. */
export interface Session {
  readonly principal: Principal;
  /** The person's name from the provider, or the key's label. */
  readonly name: string | null;
  readonly expiresAt: string;
}

type SessionStore = Pick<RequestRepository, "findActiveApiKey" | "createSession">;
type RoleGroups = Readonly<Record<Role, readonly string[]>>;

/** A session for an active API key; undefined for an unknown or revoked key. */
export async function signInWithKey(
  repository: SessionStore,
  rawKey: string,
  now: Date,
): Promise<SignedIn | undefined> {
  const key = await repository.findActiveApiKey(hashApiKey(rawKey));
  if (!key) return undefined;
  return start(repository, { keyId: key.id }, principalOfKey(key), now);
}

/** A session for a person the identity provider has just vouched for. */
export function signInPerson(
  repository: SessionStore,
  person: SignedInPerson,
  roleGroups: RoleGroups,
  now: Date,
): Promise<SignedIn> {
  return start(repository, { person }, principalOfPerson(person, roleGroups), now);
}

async function start(
  repository: SessionStore,
  holder: { readonly keyId: string } | { readonly person: SignedInPerson },
  principal: Principal,
  now: Date,
): Promise<SignedIn> {
  const secret = newLinkSecret();
  const expiresAt = new Date(now.getTime() + SESSION_SECONDS * 1000).toISOString();
  await repository.createSession({ secretHash: hashSecret(secret), holder, expiresAt });
  return { secret, principal, expiresAt };
}

export async function findSession(
  repository: Pick<RequestRepository, "findSession">,
  secret: string,
  roleGroups: RoleGroups,
): Promise<Session | undefined> {
  if (!isWellFormedSecret(secret)) return undefined;
  const record = await repository.findSession(hashSecret(secret));
  return record && sessionOf(record, roleGroups);
}

/** Roles are worked out now, so a changed key role or group mapping applies at once. */
function sessionOf(record: SessionRecord, roleGroups: RoleGroups): Session {
  const { holder, expiresAt } = record;
  return "key" in holder
    ? { principal: principalOfKey(holder.key), name: holder.key.label || null, expiresAt }
    : {
        principal: principalOfPerson(holder.person, roleGroups),
        name: holder.person.name,
        expiresAt,
      };
}

export async function signOut(
  repository: Pick<RequestRepository, "deleteSession">,
  secret: string,
): Promise<void> {
  if (isWellFormedSecret(secret)) await repository.deleteSession(hashSecret(secret));
}
