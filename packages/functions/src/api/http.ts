/**
 * What the API's routes share to read a request and shape an answer: path and query parsing
 * with valibot (a 400 problem naming every bad field), JSON bodies, and content negotiation.
 */
import { normaliseSerial } from "@spca/core/certificate/serial";
import { PkiError } from "@spca/core/errors";
import { issueMessages } from "@spca/core/validation";
import type { Context } from "hono";
import * as v from "valibot";
import { problem } from "./problem.ts";
import { CrlQuery, SerialParam } from "./schemas.ts";

/** A browser navigating (Accept lists text/html), not an API client. */
export function wantsHtml(c: Context): boolean {
  return c.req.header("accept")?.includes("text/html") ?? false;
}

/** The :serial path parameter, normalised (lowercase hex, no colons or leading zeros). */
export function serialParam(c: Context): string {
  const text = parse(SerialParam, c.req.param("serial"), "QUERY_INVALID");
  const serial = normaliseSerial(text);
  if (!serial) throw problem(400, "QUERY_INVALID", `"${text}" is not a serial number.`);
  return serial;
}

/** ?ca= on the CRL routes, once at most. */
export function crlCa(c: Context) {
  if ((c.req.queries("ca")?.length ?? 0) > 1) {
    throw problem(400, "QUERY_INVALID", 'ca is given more than once; give "issuing" or "root".');
  }
  return parse(CrlQuery, { ca: c.req.query("ca") }, "QUERY_INVALID").ca;
}

export function notPublished() {
  return new PkiError(
    "CRL_NOT_PUBLISHED",
    "The first CRL is published moments after the service starts; try again shortly.",
  );
}

/** Routes that only take JSON refuse anything else with a 415. */
export function requireJson(c: Context): void {
  if (mediaType(c.req.header("content-type")) !== "application/json") {
    throw problem(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json.");
  }
}

export function mediaType(header: string | undefined): string | undefined {
  return header?.split(";")[0]?.trim().toLowerCase();
}

export async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw problem(400, "BODY_INVALID", `The body is not JSON: ${(e as Error).message}.`);
  }
}

export function parse<S extends v.GenericSchema>(
  schema: S,
  value: unknown,
  code: "BODY_INVALID" | "QUERY_INVALID",
): v.InferOutput<S> {
  if (
    code === "BODY_INVALID" &&
    (typeof value !== "object" || value === null || Array.isArray(value))
  ) {
    const found = Array.isArray(value)
      ? "an array"
      : typeof value === "string"
        ? "a string"
        : JSON.stringify(value);
    throw problem(400, code, `The body must be a JSON object, not ${found}.`);
  }
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  const key = code === "QUERY_INVALID" ? "query parameter" : "field";
  const problems = issueMessages(result.issues, { schema, key });
  throw problem(400, code, problems.join("; "), { problems });
}

/** The first offered type the Accept header admits (q=0 excluded); the first offer when absent. */
export function negotiate(
  accept: string | undefined,
  offers: readonly string[],
): string | undefined {
  if (!accept || accept.trim() === "") return offers[0];
  const ranges = accept
    .split(",")
    .map((part) => {
      const [range, ...params] = part.trim().toLowerCase().split(";");
      const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      return { range: range!.trim(), q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { range } of ranges) {
    if (range === "*/*") return offers[0];
    const exact = offers.find((o) => o === range);
    if (exact) return exact;
    if (range.endsWith("/*")) {
      const prefix = range.slice(0, -1);
      const match = offers.find((o) => o.startsWith(prefix));
      if (match) return match;
    }
  }
  return undefined;
}
