/**
 * `pki certs list` and `pki certs export`: the certificate inventory of the running local
 * service, through its API (GET /v1/certificates and /v1/certificates/export, with its admin
 * key). The flags are checked here with the API's own schema, so a typo is a usage error that
 * names the flag. An export is streamed: to stdout, or to --output FILE, which appears whole
 * or not at all (written beside it, flushed, then renamed over it).
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { PkiError } from "@spca/core/errors";
import { InventoryQuerySchema } from "@spca/core/inventory/filter";
import type { InventoryRow } from "@spca/core/inventory/rows";
import { type ExportFormat, exportFormats, exportMediaTypes } from "@spca/core/inventory/rows";
import * as v from "valibot";
import { expectArgs, UsageError } from "./arguments.ts";
import type { ServiceClient } from "./service-client.ts";
import { table } from "./table.ts";

const FILTERS =
  "[--status valid|revoked|expired] [--profile P] [--requester R] [--ca ID] [--q TEXT] [--expires-before T] [--expires-after T]";
export const CERTS_USAGE = `pki certs list ${FILTERS} [--limit N] [--cursor C] [--json] | pki certs export --format csv|jsonl [--output FILE] ${FILTERS}`;

/** Each query parameter's flag, to word the schema's messages as the command line reads. */
const flags = {
  status: "status",
  profile: "profile",
  requester: "requester",
  ca: "ca",
  q: "q",
  expiresBefore: "expires-before",
  expiresAfter: "expires-after",
  limit: "limit",
  cursor: "cursor",
} as const;
type Parameter = keyof typeof flags;

const filterParameters = Object.keys(flags).filter((p) => p !== "limit" && p !== "cursor");
const filterFlags = filterParameters.map((p) => flags[p as Parameter]);
/** What each subcommand takes besides --data-dir and --config. */
const allowed: Readonly<Record<string, readonly string[]>> = {
  list: [...filterFlags, "limit", "cursor", "json"],
  export: [...filterFlags, "format", "output"],
};

export interface CertsIo {
  /** The running local service; undefined when none runs on the data folder. */
  readonly service: () => ServiceClient | undefined;
  readonly dataDir: string;
  /** stdout: tables, JSON and exports without --output. */
  readonly stdout: NodeJS.WritableStream;
  /** stderr: what an export to a file wrote. */
  readonly stderr: (text: string) => void;
}

export async function certs(
  sub: string | undefined,
  rest: readonly string[],
  values: Readonly<Record<string, string | boolean | undefined>>,
  io: CertsIo,
): Promise<number> {
  if (sub !== "list" && sub !== "export")
    throw new UsageError(`unknown command "certs ${sub ?? ""}"; try ${CERTS_USAGE}`);
  expectArgs(rest, 0, CERTS_USAGE);
  for (const [flag, value] of Object.entries(values)) {
    if (value === undefined || flag === "data-dir" || flag === "config") continue;
    if (!allowed[sub]!.includes(flag)) {
      const other = sub === "list" ? "export" : "list";
      const where = allowed[other]!.includes(flag) ? `; it is for pki certs ${other}` : "";
      throw new UsageError(`pki certs ${sub} does not take --${flag}${where}`);
    }
  }
  const query = queryOf(values, sub === "list" ? Object.keys(flags) : filterParameters);
  const format = sub === "export" ? exportFormat(values.format) : undefined;
  if (values.output === "") throw new UsageError("--output needs a file name (or - for stdout)");
  const service = io.service();
  if (!service) {
    throw new PkiError(
      "RUNTIME_NOT_RUNNING",
      `pki certs reads the inventory of the local service; start it on ${io.dataDir} (npm start) and run pki certs ${sub} again.`,
    );
  }
  if (format === undefined) return list(service, query, values.json === true, io);
  const path = `/v1/certificates/export?${new URLSearchParams({ ...query, format })}`;
  const body = await service.stream(path, exportMediaTypes[format]);
  const output = values.output;
  if (typeof output !== "string" || output === "-") {
    for await (const chunk of body) {
      if (!io.stdout.write(chunk)) await once(io.stdout, "drain");
    }
    return 0;
  }
  const bytes = await writeAtomically(output, body);
  io.stderr(`Wrote ${output} (${format}, ${bytes} bytes).\n`);
  return 0;
}

/** The flags as the API's query, checked with its schema; a bad one is a usage error. */
function queryOf(
  values: Readonly<Record<string, string | boolean | undefined>>,
  taken: readonly string[],
): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [parameter, flag] of Object.entries(flags)) {
    const value = values[flag];
    if (typeof value === "string" && taken.includes(parameter)) query[parameter] = value;
  }
  const result = v.safeParse(InventoryQuerySchema, query);
  if (!result.success) {
    const words = result.issues.map((issue) =>
      issue.message.replace(
        /\b(status|profile|requester|ca|q|expiresBefore|expiresAfter|limit|cursor)\b/g,
        (name) => `--${flags[name as Parameter]}`,
      ),
    );
    throw new UsageError(words.join("; "));
  }
  return query;
}

function exportFormat(format: string | boolean | undefined): ExportFormat {
  if (typeof format === "string" && (exportFormats as readonly string[]).includes(format))
    return format as ExportFormat;
  throw new UsageError(
    `pki certs export needs --format ${exportFormats.join("|")}${typeof format === "string" ? `, not "${format}"` : ""}`,
  );
}

async function list(
  service: ServiceClient,
  query: Record<string, string>,
  json: boolean,
  io: CertsIo,
): Promise<number> {
  const page = await service.json<{ items: InventoryRow[]; next: string | null }>(
    "GET",
    `/v1/certificates${Object.keys(query).length > 0 ? `?${new URLSearchParams(query)}` : ""}`,
  );
  if (json) {
    io.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    return 0;
  }
  if (page.items.length === 0) io.stdout.write("No certificates match.\n");
  else {
    io.stdout.write(
      table([
        ["SERIAL", "STATUS", "NOT AFTER", "PROFILE", "SUBJECT", "REQUESTER"],
        ...page.items.map((r) => [
          r.serial,
          r.status,
          r.notAfter,
          r.profile,
          r.subject,
          r.requester,
        ]),
      ]),
    );
  }
  // A page may be short and still have a next: the listing looked at as many as it may.
  if (page.next)
    io.stdout.write(`More: run again with the same filters and --cursor ${page.next}\n`);
  return 0;
}

/**
 * Writes beside `file` (a streamed export is never held whole, so not atomic-files.ts), flushes,
 * then renames over it: a reader never sees half an export.
 */
async function writeAtomically(file: string, body: AsyncIterable<Uint8Array>): Promise<number> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.part`);
  let bytes = 0;
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      for await (const chunk of body) {
        await handle.write(chunk);
        bytes += chunk.byteLength;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    // The rename lasts once the folder is flushed too.
    const folder = await open(dirname(file), "r");
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch (error) {
    await rm(temp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // A file system refusal names the file; a broken connection says so itself.
    if (code?.startsWith("E")) throw new Error(`Cannot write ${file}: ${code}.`);
    throw error;
  }
  return bytes;
}
