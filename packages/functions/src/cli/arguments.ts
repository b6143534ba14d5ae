/**
 * What the `pki` commands share to read their arguments and input: usage errors (exit 2, before
 * anything is opened or invoked), positional arguments, input files (or stdin), and the checks
 * of flags more than one command takes.
 */
import { readFileSync } from "node:fs";
import { PkiError } from "@spca/core/errors";
import { type ApiKeyRole, apiKeyRoles } from "@spca/core/store/request-repository";
import { parseNameText } from "@spca/core/x509/name";
import * as v from "valibot";

/** A command line `pki` cannot run as given. */
export class UsageError extends Error {}

export const processOutput = {
  stdout: (text: string) => process.stdout.write(text),
  stderr: (text: string) => process.stderr.write(text),
};

export function expectArgs(
  args: readonly (string | undefined)[],
  count: number,
  usage: string,
): readonly (string | undefined)[] {
  if (args.length !== count) throw new UsageError(`usage: ${usage}`);
  return args;
}

/** --role for pki keys create, checked before anything is opened or invoked. */
export function apiKeyRole(role: string | undefined): ApiKeyRole {
  if (!(apiKeyRoles as readonly (string | undefined)[]).includes(role)) {
    throw new UsageError(
      `pki keys create needs --role ${apiKeyRoles.join("|")}${role === undefined ? "" : `, not "${role}"`}`,
    );
  }
  return role as ApiKeyRole;
}

/** An email address, as core's createApiKey takes it for a key's owner. */
const Email = v.pipe(v.string(), v.maxLength(254), v.email());

/**
 * --owner for pki keys create: the email address of the person the key acts for (the requests
 * it submits are theirs), checked before anything is opened or invoked.
 */
export function apiKeyOwner(owner: string | undefined): string {
  if (owner === undefined) {
    throw new UsageError(
      "pki keys create needs --owner EMAIL, the email address of the person the key acts for (for example --owner alice@example.com)",
    );
  }
  if (!v.is(Email, owner)) {
    throw new UsageError(
      `--owner must be an email address (for example --owner alice@example.com), not "${owner}"`,
    );
  }
  return owner;
}

/** --subject is checked here, so a typo is a usage error before anything is invoked. */
export function checkSubject(flag: string): void {
  try {
    parseNameText(flag);
  } catch (e) {
    throw new UsageError(`--subject: ${(e as Error).message}`);
  }
}

export function readInput(file: string): Uint8Array;
export function readInput(file: string, encoding: "utf8"): string;
export function readInput(file: string, encoding?: "utf8"): Uint8Array | string {
  try {
    const data = file === "-" ? readFileSync(0) : readFileSync(file);
    return encoding ? data.toString(encoding) : new Uint8Array(data);
  } catch (e) {
    throw new PkiError(
      "INPUT_UNREADABLE",
      `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`,
    );
  }
}
