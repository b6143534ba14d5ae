/** Field schemas the configuration's sections share (config.ts, aws-config.ts). */
import * as v from "valibot";
import { checkDnsName } from "../x509/general-names.ts";
import { parseNameText } from "../x509/name.ts";
import { hasHostBits, parseCidr } from "./cidr.ts";

const isDomain = (s: string) => {
  try {
    checkDnsName(s);
    return !s.startsWith("*");
  } catch {
    return false;
  }
};

/** A CA name as the configuration writes it ("CN=Example CA, O=Example"). */
export const SubjectText = (field: string) =>
  v.pipe(
    v.string(),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      try {
        parseNameText(dataset.value);
      } catch (e) {
        addIssue({
          message: `${field} must look like CN=Name, O=Org: ${(e as Error).message}`,
        });
      }
    }),
  );

export const Domain = v.pipe(
  v.string(),
  v.check(isDomain, (i) => `"${i.input}" is not a domain name`),
);
export const Email = v.pipe(
  v.string((i) => `${i.received} is not an email address`),
  v.email((i) => `${JSON.stringify(i.input)} is not an email address`),
);
export const Days = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(36500));
/** A whole number of days, none to `max`, each bound named in its message. */
export const GraceDays = (name: string, max: number) =>
  v.pipe(
    v.number(),
    v.integer(`${name} must be a whole number`),
    v.minValue(0, `${name} must not be negative`),
    v.maxValue(max, `${name} must be at most ${max}`),
  );
export const Hours = (name: string, min: number, max: number) =>
  v.pipe(
    v.number(`${name} must be a number of hours`),
    v.minValue(min, `${name} must be at least ${min}`),
    v.maxValue(max, `${name} must be at most ${max}`),
  );

/** An IP range in CIDR notation, written as its network address (profiles, aws.network). */
export const CidrText = v.pipe(
  v.string(),
  v.check(
    (s) => parseCidr(s) !== undefined,
    (i) => `"${i.input}" is not CIDR`,
  ),
  // 10.1.2.3/8 is most likely a typo; say which network it would mean.
  v.check(
    (s) => {
      const cidr = parseCidr(s);
      return cidr === undefined || !hasHostBits(cidr);
    },
    (i) => `"${i.input}" has host bits set; write its network address`,
  ),
);
