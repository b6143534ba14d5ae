/**
 * Subject attribute values under policy: per attribute type, the only values a profile issues
 * (a fixed list, or a pattern the whole value must match) and whether the CSR must carry it.
 * `subjectAttributes` says which types may appear; this says what they may say. Kubernetes,
 * for one, reads O as a group, so a free O lets a requester name themselves system:masters.
 */
import * as v from "valibot";
import { PkiError } from "../errors.ts";
import type { NameAttribute, NameEntry } from "../x509/name.ts";

export const SUBJECT_ATTRIBUTES = [
  "CN",
  "O",
  "OU",
  "C",
  "ST",
  "L",
] as const satisfies readonly NameAttribute[];

/** The JavaScript error for `pattern` as a rule compiles it, or undefined when it compiles. */
function patternError(pattern: string): string | undefined {
  try {
    // On its own first: "a)|(b" compiles only once wrapped, and would then match partly.
    new RegExp(pattern, "u");
    wholeValue(pattern);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Anchored around a group, so "a|b" means exactly "a" or exactly "b", never "xa" or "bx". */
function wholeValue(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, "u");
}

const SubjectValueRule = v.pipe(
  v.strictObject({
    values: v.optional(
      v.pipe(
        v.array(v.pipe(v.string(), v.minLength(1, "a subject value cannot be empty"))),
        v.minLength(1, "list at least one value"),
      ),
    ),
    pattern: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1, "the pattern cannot be empty"),
        v.check(
          (p) => patternError(p) === undefined,
          (i) =>
            `${JSON.stringify(i.input)} is not a JavaScript regular expression (u flag): ${patternError(i.input as string)}`,
        ),
      ),
    ),
    required: v.optional(v.boolean(), false),
  }),
  v.check(
    (rule) => (rule.values === undefined) !== (rule.pattern === undefined),
    "give either values or pattern, not both",
  ),
);

export const SubjectValuesSchema = v.strictObject({
  CN: v.optional(SubjectValueRule),
  O: v.optional(SubjectValueRule),
  OU: v.optional(SubjectValueRule),
  C: v.optional(SubjectValueRule),
  ST: v.optional(SubjectValueRule),
  L: v.optional(SubjectValueRule),
});

export type SubjectValueRule = v.InferOutput<typeof SubjectValueRule>;
export type SubjectValues = v.InferOutput<typeof SubjectValuesSchema>;

/** The attribute types `rules` constrains that `allowed` (subjectAttributes) does not list. */
export function rulesOutside(
  rules: SubjectValues | undefined,
  allowed: readonly NameAttribute[],
): NameAttribute[] {
  return SUBJECT_ATTRIBUTES.filter(
    (type) => rules?.[type] !== undefined && !allowed.includes(type),
  );
}

const compiled = new Map<string, RegExp>();

function allows(rule: SubjectValueRule, value: string): boolean {
  if (rule.values !== undefined) return rule.values.includes(value);
  const pattern = rule.pattern!;
  let re = compiled.get(pattern);
  if (!re) {
    re = wholeValue(pattern);
    compiled.set(pattern, re);
  }
  return re.test(value);
}

/**
 * Quoted like JSON, with format characters (bidi overrides, zero-width joiners), separators,
 * private-use and unpaired surrogates also \u-escaped: the message shows a value, never
 * rearranges the text around it.
 */
export function quoteValue(value: string): string {
  return JSON.stringify(value).replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu, (c) => {
    // Each UTF-16 unit: tag characters (U+E0000 block) are format characters too.
    let escaped = "";
    for (let i = 0; i < c.length; i++)
      escaped += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
    return escaped;
  });
}

function describeRule(rule: SubjectValueRule): string {
  if (rule.values !== undefined) {
    const list = rule.values.map(quoteValue).join(", ");
    return rule.values.length === 1 ? `only ${list}` : `one of ${list}`;
  }
  return `a whole value matching the pattern ${quoteValue(rule.pattern!)}`;
}

/**
 * Refuses the first subject value outside its rule (every entry is checked, so a second O is
 * judged like the first), then the first required attribute the subject lacks.
 */
export function checkSubjectValues(
  entries: readonly NameEntry[],
  profileName: string,
  rules: SubjectValues | undefined,
): void {
  if (!rules) return;
  for (const entry of entries) {
    const rule = rules[entry.type];
    if (rule && !allows(rule, entry.value)) {
      throw new PkiError(
        "POLICY_SUBJECT_VALUE_NOT_ALLOWED",
        `Profile ${profileName} does not issue subject ${entry.type} ${quoteValue(entry.value)}; it allows ${describeRule(rule)}.`,
        { profile: profileName, attribute: entry.type },
      );
    }
  }
  for (const type of SUBJECT_ATTRIBUTES) {
    const rule = rules[type];
    if (rule?.required && !entries.some((entry) => entry.type === type)) {
      throw new PkiError(
        "POLICY_SUBJECT_ATTRIBUTE_REQUIRED",
        `Profile ${profileName} requires subject ${type} (${describeRule(rule)}).`,
        { profile: profileName, attribute: type },
      );
    }
  }
}
