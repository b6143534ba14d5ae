/**
 * Characters that make text say something other than it shows: C0 and C1 controls, DEL, line
 * and paragraph separators, and the bidi marks, embeddings, overrides and isolates (Trojan
 * Source, CVE-2021-42574). Mails replace them; pages show them as visible escapes.
 */
export const UNSAFE_TEXT =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The same, less tab, line feed and carriage return: for a whole page, whose markup has them. */
const UNSAFE_IN_PAGE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** "[U+202E]" for each unsafe character, so a reader sees it is there and what it is. */
export function showUnsafe(text: string, regex: RegExp = UNSAFE_IN_PAGE): string {
  return text.replace(
    regex,
    (c) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`,
  );
}

/** Every string in a JSON value with its unsafe characters (line ends included) shown. */
export function showUnsafeInJson<T>(value: T): T {
  if (typeof value === "string") return showUnsafe(value, UNSAFE_TEXT) as T;
  if (Array.isArray(value)) return value.map(showUnsafeInJson) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, showUnsafeInJson(v)])) as T;
  }
  return value;
}
