/**
 * The certificate inventory over HTTP: GET /v1/certificates answers one page of certificates
 * in notAfter order, filtered, with the cursor of the next; GET /v1/certificates/export streams
 * every matching certificate as CSV or JSON Lines, one index page in memory at a time. Both
 * show a caller only what they may read (requesters their own and their shared groups').
 * Query strings are strict: an unknown or repeated parameter is a 400 that names it.
 */
import {
  filterOf,
  type InventoryFilter,
  InventoryQuerySchema,
  WINDOW_OUT_OF_ORDER,
  windowInOrder,
} from "@spca/core/inventory/filter";
import {
  csvHeader,
  csvLine,
  type ExportFormat,
  exportFormats,
  exportMediaTypes,
  type InventoryRow,
  jsonLine,
} from "@spca/core/inventory/rows";
import type { Context, Hono } from "hono";
import * as v from "valibot";
import type { ApiEnv, CallerCheck } from "./caller.ts";
import { parse } from "./http.ts";
import { problem } from "./problem.ts";
import type { ApiServices } from "./services.ts";

/** The export's query: the listing's filters and a format, no paging. */
const { limit: _limit, cursor: _cursor, ...filterEntries } = InventoryQuerySchema.pipe[0].entries;
export const ExportQuery = v.pipe(
  v.strictObject({
    ...filterEntries,
    format: v.picklist(exportFormats, `format must be one of ${exportFormats.join(", ")}`),
  }),
  v.check(windowInOrder, WINDOW_OUT_OF_ORDER),
);

export function inventoryRoutes(
  app: Hono<ApiEnv>,
  services: Pick<ApiServices, "certificateInventory" | "exportCertificateInventory">,
  caller: CallerCheck,
  options: {
    /**
     * Where a response is buffered whole (a Lambda function answers at most 6 MB), the most an
     * export may be: a larger one is a 413 that says how to page instead, not a failed call.
     */
    readonly exportLimitBytes?: number | undefined;
  } = {},
): void {
  app.get("/v1/certificates", caller("signed-in"), async (c) => {
    const query = parse(InventoryQuerySchema, singleValues(c), "QUERY_INVALID");
    return c.json(await services.certificateInventory(query, c.get("caller")!));
  });

  // Registered before /v1/certificates/:serial, which would take "export" for a serial.
  app.get("/v1/certificates/export", caller("signed-in"), async (c) => {
    const { format, ...query } = parse(ExportQuery, singleValues(c), "QUERY_INVALID");
    const filter: InventoryFilter = filterOf(query);
    const rows = services.exportCertificateInventory(filter, c.get("caller")!);
    // The first row is read before answering, so a refusal (no role that lists) is still a
    // problem+json and not a 200 cut short.
    const iterator = rows[Symbol.asyncIterator]();
    const first = await iterator.next();
    const stamp = new Date().toISOString().slice(0, 10);
    const stream = exportStream(format, first, iterator);
    const body =
      options.exportLimitBytes === undefined
        ? stream
        : await withinLimit(stream, options.exportLimitBytes);
    return new Response(body, {
      status: 200,
      headers: {
        "Content-Type": exportMediaTypes[format],
        "Content-Disposition": `attachment; filename="certificates-${stamp}.${format}"`,
        "Cache-Control": "no-store",
      },
    });
  });
}

/** The query as one string per name; a name given twice is refused rather than guessed at. */
function singleValues(c: Context): Record<string, string> {
  const all = c.req.queries();
  const single: Record<string, string> = {};
  for (const [name, values] of Object.entries(all)) {
    if (values.length > 1) {
      throw problem(400, "QUERY_INVALID", `${name} is given ${values.length} times; give it once.`);
    }
    single[name] = values[0]!;
  }
  return single;
}

function exportStream(
  format: ExportFormat,
  first: IteratorResult<InventoryRow>,
  rest: AsyncIterator<InventoryRow>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const line = format === "csv" ? csvLine : jsonLine;
  let pending: IteratorResult<InventoryRow> | undefined = first;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Rows go out in batches: one enqueue per row would cost more than the row itself.
      let chunk = !started && format === "csv" ? csvHeader() : "";
      started = true;
      while (chunk.length < 64 * 1024) {
        const next: IteratorResult<InventoryRow> = pending ?? (await rest.next());
        pending = undefined;
        if (next.done) {
          if (chunk) controller.enqueue(encoder.encode(chunk));
          controller.close();
          return;
        }
        chunk += line(next.value);
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await rest.return?.();
    },
  });
}

/** The whole export, or EXPORT_TOO_LARGE as soon as it passes `limit` bytes. */
async function withinLimit(stream: ReadableStream<Uint8Array>, limit: number): Promise<Blob> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > limit) {
      await stream.cancel().catch(() => undefined);
      throw problem(
        413,
        "EXPORT_TOO_LARGE",
        `This deployment answers at most ${limit} bytes at once, and the export is larger. Narrow the filters (an expiry window, a profile), or page through GET /v1/certificates with limit=500 and its next cursor.`,
        { limitBytes: limit },
      );
    }
    chunks.push(chunk);
  }
  return new Blob(chunks);
}
