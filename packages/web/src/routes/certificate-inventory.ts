/**
 * The operators' certificate inventory: every certificate, soonest to expire first, filtered by
 * status, profile, requester, text (subject or SAN) and "expiring within N days", a page at a
 * time. Certificates expiring within 30 days are marked with a text badge as well as colour;
 * expired and revoked rows are set apart the same way. The filters are a plain GET form (no
 * script needed), read with the API's own schema, so a bad value is a 400 page saying which.
 */
import { isPkiError } from "@spca/core/errors";
import { InventoryQuerySchema } from "@spca/core/inventory/filter";
import type { InventoryRow } from "@spca/core/inventory/rows";
import type { Context } from "hono";
import { html } from "hono/html";
import * as v from "valibot";
import { alert, certificateBadge, time } from "../html/components.ts";
import type { Html } from "../html/layout.ts";
import type { Kit } from "../kit.ts";
import type { Session } from "../security/session.ts";
import { invalidCursorPage, type OperatorPageStatus, type PageOf } from "./operator-gate.ts";

export type { PageOf } from "./operator-gate.ts";

const PAGE_SIZE = 25;
/** Certificates this close to their end are marked: the reminders' first mail goes about then. */
export const EXPIRING_SOON_DAYS = 30;
const MAX_WITHIN_DAYS = 3650;
const DAY_MS = 86_400_000;

/** The form's fields as they arrive; empty ones are no filter. */
interface Fields {
  readonly status: string;
  readonly profile: string;
  readonly requester: string;
  readonly q: string;
  readonly within: string;
}

/** Where a listing lives and where its rows lead. */
export interface InventoryView {
  readonly path: string;
  readonly link: (row: InventoryRow) => string;
}

/** The operators': each row opens the certificate's operators' page. */
const operatorsView: InventoryView = {
  path: "/operators/certificates",
  link: (row) => `/operators/certificates/${row.serial}`,
};

/** A page of the inventory as `session` may see it, for a gate to wrap (the operators' by default). */
export function certificateInventory(
  kit: Kit,
  page: PageOf,
  header: () => Promise<Html>,
  view: InventoryView = operatorsView,
) {
  return async (c: Context, session: Session): Promise<Response> => {
    const field = (name: string) => (c.req.query(name) ?? "").trim();
    const fields: Fields = {
      status: field("status"),
      profile: field("profile"),
      requester: field("requester"),
      q: field("q"),
      within: field("within"),
    };
    const now = new Date();
    const problems: string[] = [];
    // "Expiring within N days": from now (not those already expired) to N days on. The window
    // is fixed when the first page is asked for and the next pages carry it, so their cursor
    // still belongs to the same filters.
    let expiry = { expiresAfter: field("expiresAfter"), expiresBefore: field("expiresBefore") };
    if (fields.within && !expiry.expiresBefore) {
      const days = /^[0-9]{1,4}$/.test(fields.within) ? Number(fields.within) : 0;
      if (days < 1 || days > MAX_WITHIN_DAYS)
        problems.push(
          `Expiring within must be a whole number of days from 1 to ${MAX_WITHIN_DAYS}.`,
        );
      else
        expiry = {
          expiresAfter: now.toISOString(),
          expiresBefore: new Date(now.getTime() + days * DAY_MS).toISOString(),
        };
    }
    const wanted: Record<string, string> = { limit: String(PAGE_SIZE) };
    for (const name of ["status", "profile", "requester", "q"] as const) {
      if (fields[name]) wanted[name] = fields[name];
    }
    if (expiry.expiresAfter) wanted.expiresAfter = expiry.expiresAfter;
    if (expiry.expiresBefore) wanted.expiresBefore = expiry.expiresBefore;
    const cursor = c.req.query("cursor");
    if (cursor !== undefined && !/^[A-Za-z0-9_-]{1,1024}$/.test(cursor))
      return invalidCursorPage(page, c, session);
    const parsed = v.safeParse(InventoryQuerySchema, {
      ...wanted,
      ...(cursor !== undefined ? { cursor } : {}),
    });
    if (!parsed.success) problems.push(...parsed.issues.map((issue) => sentence(issue.message)));
    const form = filterForm(kit, fields, view.path);
    const shell = async (main: Html, status: OperatorPageStatus) =>
      page(c, session, "Certificates", html`${await header()}${form}${main}`, status);
    if (problems.length > 0 || !parsed.success) {
      return shell(
        alert("error", "These filters cannot be used.", html`${problems.join(" ")}`),
        400,
      );
    }
    let list: { readonly items: readonly InventoryRow[]; readonly next: string | null };
    try {
      list = await kit.services.certificateInventory(parsed.output, session.principal);
    } catch (error) {
      if (!isPkiError(error, "PAGE_CURSOR_INVALID")) throw error;
      return invalidCursorPage(page, c, session);
    }
    const nextQuery = new URLSearchParams({ ...wanted, within: fields.within });
    nextQuery.delete("limit");
    for (const [name, value] of [...nextQuery]) if (!value) nextQuery.delete(name);
    return shell(
      html`<h2 id="certs-heading">Certificates</h2>
${inventoryTable(list.items, now, view.link)}
${list.next ? html`<p><a href="${view.path}?${nextQuery.toString()}&cursor=${encodeURIComponent(list.next)}" rel="next">Next page</a></p>` : ""}`,
      200,
    );
  };
}

/** A schema message as a sentence, its field called what the form calls it. */
function sentence(message: string): string {
  const words: Record<string, string> = {
    status: "Status",
    profile: "Profile",
    requester: "Requester",
    q: "Text",
    expiresBefore: "The end of the expiry window",
    expiresAfter: "The start of the expiry window",
    cursor: "The page cursor",
  };
  const named = message.replace(
    /^(status|profile|requester|q|expiresBefore|expiresAfter|cursor)\b/,
    (name) => words[name]!,
  );
  return named.endsWith(".") ? named : `${named}.`;
}

function filterForm(kit: Kit, fields: Fields, path: string): Html {
  const option = (value: string, label: string, current: string) =>
    html`<option value="${value}"${value === current ? html` selected` : ""}>${label}</option>`;
  return html`<form method="get" action="${path}" class="filters" aria-label="Filter certificates">
<div class="field"><label for="f-status">Status</label>
<select id="f-status" name="status">${option("", "Any", fields.status)}${option("valid", "Valid", fields.status)}${option("expired", "Expired", fields.status)}${option("revoked", "Revoked", fields.status)}</select></div>
<div class="field"><label for="f-profile">Profile</label>
<select id="f-profile" name="profile">${option("", "Any", fields.profile)}${kit.services.profiles().map((p) => option(p.name, p.name, fields.profile))}</select></div>
<div class="field"><label for="f-requester">Requester</label>
<input type="text" id="f-requester" name="requester" value="${fields.requester}" placeholder="dev@example.com" autocomplete="off"></div>
<div class="field"><label for="f-q">Subject or name contains</label>
<input type="search" id="f-q" name="q" value="${fields.q}" placeholder="api.example.com"></div>
<div class="field"><label for="f-within">Expiring within (days)</label>
<input type="number" id="f-within" name="within" value="${fields.within}" min="1" max="${MAX_WITHIN_DAYS}" inputmode="numeric"></div>
<div class="actions"><button type="submit">Filter</button> <a href="${path}">Clear filters</a></div>
</form>`;
}

/** "Expires in 3 days" for a valid certificate within EXPIRING_SOON_DAYS; "" otherwise. */
function expiringBadge(row: InventoryRow, now: Date): Html {
  if (row.status !== "valid") return "";
  const left = Date.parse(row.notAfter) - now.getTime();
  if (left > EXPIRING_SOON_DAYS * DAY_MS) return "";
  const days = Math.floor(left / DAY_MS);
  const words =
    days < 1 ? "Expires today" : days === 1 ? "Expires in 1 day" : `Expires in ${days} days`;
  return html` <span class="badge badge-expiring">${words}</span>`;
}

function rowClass(row: InventoryRow, now: Date): string {
  if (row.status !== "valid") return `row-${row.status}`;
  const soon = Date.parse(row.notAfter) - now.getTime() <= EXPIRING_SOON_DAYS * DAY_MS;
  return soon ? "row-expiring" : "";
}

export function inventoryTable(
  rows: readonly InventoryRow[],
  now: Date,
  link: InventoryView["link"],
): Html {
  if (rows.length === 0) return html`<p class="muted">None.</p>`;
  return html`<div class="table-wrap"><table aria-labelledby="certs-heading" class="inventory">
<thead><tr><th scope="col">Serial</th><th scope="col">Subject</th><th scope="col">Requested by</th><th scope="col">Profile</th><th scope="col">Expires</th><th scope="col">Status</th></tr></thead>
<tbody>${rows.map((r) => {
    const cls = rowClass(r, now);
    return html`<tr${cls ? html` class="${cls}"` : ""}>
<td><a href="${link(r)}"><code>${r.serial}</code></a></td>
<td>${r.subject}</td>
<td>${r.requestedBy}</td>
<td>${r.profile}</td>
<td>${time(r.notAfter)}${expiringBadge(r, now)}</td>
<td>${certificateBadge(r.status)}</td>
</tr>`;
  })}</tbody></table></div>
<p class="hint">Soonest to expire first. Certificates that end within ${EXPIRING_SOON_DAYS} days are marked “Expires in …”.</p>`;
}
