/**
 * Profile policy: does this already well-formed request fit the named profile? Either a
 * decision (which names, how long) or a PkiError naming the broken rule. Nothing is dropped
 * to make a request fit.
 */
import type { CheckedCsr } from "../csr/intake.ts";
import { wholeSeconds } from "../der/time.ts";
import { PkiError } from "../errors.ts";
import { type San, textToIp } from "../x509/general-names.ts";
import { cidrContains, parseCidr } from "./cidr.ts";
import type { Config, Profile } from "./config.ts";
import { checkSubjectValues } from "./subject-values.ts";

export interface PolicyDecision {
  readonly profileName: string;
  readonly profile: Profile;
  readonly sans: readonly San[];
  readonly validityDays: number;
  readonly checks: readonly string[];
}

/** Clients with slow clocks would otherwise see a certificate that is not yet valid. */
export const BACKDATE_SECONDS = 300;

export function findProfile(config: Config, name: string): Profile {
  const profile = Object.hasOwn(config.profiles, name) ? config.profiles[name] : undefined;
  if (!profile) {
    throw new PkiError(
      "PROFILE_UNKNOWN",
      `"${name}" is not one of: ${Object.keys(config.profiles).join(", ")}.`,
      { profile: name },
    );
  }
  return profile;
}

export function evaluatePolicy(
  csr: CheckedCsr,
  profileName: string,
  profile: Profile,
  requestedDays?: number,
): PolicyDecision {
  const key = csr.publicKey;
  if (key.kind === "rsa") {
    const rsa = profile.keys.rsa;
    if (!rsa || key.bits < rsa.minBits || key.bits > rsa.maxBits) {
      throw new PkiError(
        "POLICY_KEY_NOT_ALLOWED",
        `Profile ${profileName} does not allow ${csr.keyDescription} keys${rsa ? ` (RSA ${rsa.minBits}-${rsa.maxBits} bits)` : ""}.`,
      );
    }
  } else if (!profile.keys.ec?.includes(key.curve)) {
    throw new PkiError(
      "POLICY_KEY_NOT_ALLOWED",
      `Profile ${profileName} does not allow ${csr.keyDescription} keys.`,
    );
  }

  for (const entry of csr.subject.entries) {
    if (!profile.subjectAttributes.includes(entry.type)) {
      throw new PkiError(
        "CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED",
        `Profile ${profileName} does not issue subject ${entry.type}.`,
      );
    }
  }
  checkSubjectValues(csr.subject.entries, profileName, profile.subjectValues);

  if (csr.sans.length > profile.maxSans) {
    throw new PkiError(
      "POLICY_TOO_MANY_SANS",
      `The request has ${csr.sans.length}; profile ${profileName} allows ${profile.maxSans}.`,
    );
  }
  for (const san of csr.sans) checkSan(san, profileName, profile);

  const days = requestedDays ?? profile.validity.defaultDays;
  if (!Number.isInteger(days) || days < 1) {
    throw new PkiError(
      "POLICY_VALIDITY_INVALID",
      `A validity of ${days} days is not a positive whole number.`,
    );
  }
  if (days > profile.validity.maxDays) {
    throw new PkiError(
      "POLICY_VALIDITY_TOO_LONG",
      `${days} days requested; profile ${profileName} allows at most ${profile.validity.maxDays}.`,
    );
  }

  return {
    profileName,
    profile,
    sans: csr.sans,
    validityDays: days,
    checks: [
      `key type allowed by profile ${profileName}`,
      ...(profile.subjectValues ? [`subject values within profile ${profileName}'s rules`] : []),
      `every SAN within profile ${profileName}'s names`,
      `${csr.sans.length} of at most ${profile.maxSans} SANs`,
      `validity ${days} days, at most ${profile.validity.maxDays}`,
    ],
  };
}

function checkSan(san: San, profileName: string, profile: Profile): void {
  const rules = profile.subjectAltNames;
  switch (san.type) {
    case "dns": {
      if (!rules.dns) throw notAllowed(san, profileName);
      let name = san.value.toLowerCase();
      if (name.startsWith("*.")) {
        if (!rules.dns.wildcards) {
          throw new PkiError(
            "POLICY_WILDCARD_NOT_ALLOWED",
            `Profile ${profileName} does not issue wildcard names such as ${san.value}.`,
          );
        }
        name = name.slice(2);
      }
      if (!rules.dns.domains.some((domain) => withinDomain(name, domain))) {
        throw new PkiError(
          "POLICY_DNS_NOT_ALLOWED",
          `${san.value} is outside profile ${profileName}'s domains (${rules.dns.domains.join(", ")}).`,
        );
      }
      return;
    }
    case "ip": {
      if (!rules.ip) throw notAllowed(san, profileName);
      const address = textToIp(san.value)!;
      if (!rules.ip.ranges.some((r) => cidrContains(parseCidr(r)!, address))) {
        throw new PkiError(
          "POLICY_IP_NOT_ALLOWED",
          `${san.value} is outside profile ${profileName}'s ranges (${rules.ip.ranges.join(", ")}).`,
        );
      }
      return;
    }
    case "email": {
      if (!rules.email) throw notAllowed(san, profileName);
      const domain = san.value.slice(san.value.lastIndexOf("@") + 1).toLowerCase();
      if (!rules.email.domains.some((d) => withinDomain(domain, d))) {
        throw new PkiError(
          "POLICY_EMAIL_NOT_ALLOWED",
          `${san.value} is outside profile ${profileName}'s mail domains.`,
        );
      }
      return;
    }
    case "uri": {
      if (!rules.uri) throw notAllowed(san, profileName);
      if (!rules.uri.prefixes.some((p) => san.value.startsWith(p))) {
        throw new PkiError(
          "POLICY_URI_NOT_ALLOWED",
          `${san.value} does not start with one of profile ${profileName}'s URI prefixes.`,
        );
      }
    }
  }
}

/** Suffix match on a label boundary: "a.example.com" is within "example.com", "badexample.com" is not. */
export function withinDomain(name: string, domain: string): boolean {
  const d = domain.toLowerCase();
  return name === d || name.endsWith(`.${d}`);
}

function notAllowed(san: San, profileName: string): PkiError {
  return new PkiError(
    "POLICY_SAN_TYPE_NOT_ALLOWED",
    `Profile ${profileName} does not issue ${san.type} SANs (${san.value}).`,
  );
}

/** The validity window for `days` days starting now: whole seconds, inclusive of both ends. */
export function validityWindow(
  days: number,
  now = new Date(),
): { notBefore: Date; notAfter: Date } {
  const notBefore = wholeSeconds(new Date(now.getTime() - BACKDATE_SECONDS * 1000));
  const notAfter = new Date(notBefore.getTime() + days * 86400_000 - 1000);
  return { notBefore, notAfter };
}
