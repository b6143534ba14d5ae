/**
 * Who is asking: a person signed in through the OpenID provider, a machine holding an API key
 * (which always has an owner), or nobody (open submission on a private network). Everything
 * that decides access or four eyes compares principals, never an address someone typed.
 */
import { EVERYONE, type Role, roles } from "./config.ts";

export interface Principal {
  /** "oidc:<sub>" for a person, "api-key:<id>" for a machine, "anonymous:<address>" for nobody. */
  readonly id: string;
  readonly kind: "person" | "api-key" | "anonymous";
  /** The person's verified email, or the key's owner; null for nobody. */
  readonly email: string | null;
  /** The person's groups from the provider (a key has none). */
  readonly groups: readonly string[];
  readonly roles: readonly Role[];
}

/** What a request keeps of the principal who submitted it. */
export interface RequestPrincipal {
  readonly id: string;
  readonly email: string | null;
  /** The submitter's groups that share visibility (role groups excluded). */
  readonly groups: readonly string[];
}

/**
 * One mailbox per person: the address lowercased, without a "+tag" in its local part, so
 * `Security+me@Example.com` and `security@example.com` are the same person for four eyes.
 */
export function mailboxOf(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 0) return email.toLowerCase();
  const local = email.slice(0, at);
  const plus = local.indexOf("+");
  return `${plus > 0 ? local.slice(0, plus) : local}@${email.slice(at + 1)}`.toLowerCase();
}

export function isSamePerson(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && mailboxOf(a) === mailboxOf(b);
}

/** The roles that `groups` give under `roleGroups` ("*" there: everyone who signs in). */
export function rolesOf(
  groups: readonly string[],
  roleGroups: Readonly<Record<Role, readonly string[]>>,
): Role[] {
  return roles.filter((role) =>
    roleGroups[role].some((group) => group === EVERYONE || groups.includes(group)),
  );
}

/** The groups that share requests: a person's groups that give no role. */
export function sharingGroups(
  groups: readonly string[],
  roleGroups: Readonly<Record<Role, readonly string[]>>,
): string[] {
  const roleGroupNames = new Set(Object.values(roleGroups).flat());
  return [...new Set(groups)].filter((group) => !roleGroupNames.has(group)).sort();
}

export function hasRole(principal: Principal, ...wanted: readonly Role[]): boolean {
  return principal.roles.some((role) => wanted.includes(role));
}

/** How audit entries and pages name a principal: who, and through what. */
export function describePrincipal(principal: Pick<Principal, "id" | "email">): string {
  if (principal.id.startsWith("anonymous:")) return principal.id;
  return principal.email ? `${principal.email} (${principal.id})` : principal.id;
}

export function requestPrincipalOf(
  principal: Principal,
  roleGroups: Readonly<Record<Role, readonly string[]>>,
): RequestPrincipal {
  return {
    id: principal.id,
    email: principal.email,
    groups: sharingGroups(principal.groups, roleGroups),
  };
}

/** Anyone who may read every request and certificate: approvers, auditors, admins. */
export function readsEverything(principal: Principal): boolean {
  return hasRole(principal, "approver", "auditor", "admin");
}

/**
 * Whether `principal` may read a request submitted by `submitter`: their own (the same
 * person, whichever key or sign-in they used), a shared group's, or any if they read all.
 */
export function mayRead(principal: Principal, submitter: RequestPrincipal): boolean {
  if (readsEverything(principal)) return true;
  if (!hasRole(principal, "requester")) return false;
  if (principal.id === submitter.id) return true;
  if (isSamePerson(principal.email, submitter.email)) return true;
  return submitter.groups.some((group) => principal.groups.includes(group));
}

/**
 * The keys under which what `who` submitted is listed for the requesters who may read it, and,
 * for a reader, the keys to look under: the same rule as mayRead (the principal, the person's
 * mailbox, a shared group), so two principals share a key exactly when a requester may read
 * the other's. Used by the inventory's per-requester views.
 */
export function visibilityKeys(who: {
  readonly id: string;
  readonly email: string | null;
  readonly groups: readonly string[];
}): string[] {
  return [
    `id:${who.id}`,
    ...(who.email ? [`mailbox:${mailboxOf(who.email)}`] : []),
    ...[...new Set(who.groups)].map((group) => `group:${group}`),
  ];
}

/** A machine: the key's one role, on behalf of its owner. */
export function principalOfKey(key: {
  readonly id: string;
  readonly role: Role;
  readonly owner: string | null;
}): Principal {
  return {
    id: `api-key:${key.id}`,
    kind: "api-key",
    email: key.owner,
    groups: [],
    roles: [key.role],
  };
}

/** A person as the provider vouched for them; roles follow the configuration now. */
export function principalOfPerson(
  person: { readonly sub: string; readonly email: string; readonly groups: readonly string[] },
  roleGroups: Readonly<Record<Role, readonly string[]>>,
): Principal {
  return {
    id: `oidc:${person.sub}`,
    kind: "person",
    email: person.email,
    groups: [...person.groups],
    roles: rolesOf(person.groups, roleGroups),
  };
}

/** Nobody signed in: open submission on a private network, known by the client's address. */
export function anonymousPrincipal(address: string): Principal {
  return { id: `anonymous:${address}`, kind: "anonymous", email: null, groups: [], roles: [] };
}
