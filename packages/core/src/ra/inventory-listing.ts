/**
 * The inventory as each principal may see it: approvers, auditors and admins read every
 * certificate; a requester reads those under their visibility keys (their own, their mailbox's,
 * their shared groups'), the same rule as for requests (identity/principal.ts mayRead).
 */
import { PkiError } from "../errors.ts";
import { hasRole, type Principal, readsEverything, visibilityKeys } from "../identity/principal.ts";
import {
  type CertificateInventory,
  exportInventory,
  type InventoryScope,
  listInventory,
} from "../inventory/certificate-inventory.ts";
import { filterOf, type InventoryFilter, type InventoryQuery } from "../inventory/filter.ts";
import { type InventoryRow, inventoryRow } from "../inventory/rows.ts";
import type { Page } from "../store/request-repository.ts";

export function inventoryScope(viewer: Principal): InventoryScope {
  if (readsEverything(viewer)) return { all: true };
  if (hasRole(viewer, "requester")) return { visibilityKeys: visibilityKeys(viewer) };
  throw new PkiError(
    "INVENTORY_FORBIDDEN",
    `${viewer.email ?? viewer.id} has no role that lists certificates.`,
  );
}

export async function inventoryPage(
  inventory: CertificateInventory,
  query: InventoryQuery,
  viewer: Principal,
  now: Date,
): Promise<Page<InventoryRow>> {
  const page = await listInventory(inventory, {
    filter: filterOf(query),
    scope: inventoryScope(viewer),
    ...(query.limit === undefined ? {} : { limit: query.limit }),
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    now,
  });
  return { items: page.items.map((record) => inventoryRow(record, now)), next: page.next };
}

export async function* inventoryExport(
  inventory: CertificateInventory,
  filter: InventoryFilter,
  viewer: Principal,
  now: Date,
): AsyncIterable<InventoryRow> {
  const scope = inventoryScope(viewer);
  for await (const record of exportInventory(inventory, filter, scope, now)) {
    yield inventoryRow(record, now);
  }
}
