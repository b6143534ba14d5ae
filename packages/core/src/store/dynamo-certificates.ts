/**
 * Issued certificates' records on the table, one item per serial: the serial's uniqueness is the
 * item's, so storing it is a conditional PutItem, and the same request storing it again finds its
 * own record. The PEM itself lives in the bucket, under the record's `objectKey`.
 *
 * The inventory reads them in notAfter order: every record is on gsi1 under `CERTS` (what
 * admins and the reminders read), and a small view item per visibility key of its requester
 * (identity/principal.ts visibilityKeys) lists it for the people who may see it, so a
 * requester's listing is a Query of their own partitions, never a scan (docs/dynamodb.md).
 */
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { normaliseSerial } from "../certificate/serial.ts";
import { PkiError } from "../errors.ts";
import { type RequestPrincipal, visibilityKeys } from "../identity/principal.ts";
import type { Item } from "./dynamo-access.ts";
import type { RequestTableContext } from "./dynamo-request-context.ts";
import { key } from "./dynamo-request-items.ts";
import {
  type CertificateRecord,
  inventorySortKey,
  type NewCertificateRecord,
  type PutCertificateResult,
} from "./request-repository.ts";

/** gsi1's partition holding every certificate record. */
export const ALL_CERTIFICATES = "CERTS";

/** The partition of a visibility key's view items. */
export function viewPartition(visibilityKey: string): string {
  return `CERTVIEW#${visibilityKey}`;
}

export async function putCertificate(
  ctx: RequestTableContext,
  input: NewCertificateRecord,
): Promise<PutCertificateResult> {
  if (normaliseSerial(input.serial) !== input.serial)
    throw new RangeError(`serial ${input.serial} is not normalised lowercase hex`);
  const record: CertificateRecord = {
    serial: input.serial,
    requestId: input.requestId,
    objectKey: input.objectKey,
    subject: input.subject,
    sans: input.sans.map((s) => ({ type: s.type, value: s.value })),
    profile: input.profile,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    requester: input.requester,
    principal: {
      id: input.principal.id,
      email: input.principal.email,
      groups: [...input.principal.groups],
    },
    caId: input.caId,
    renews: input.renews,
    issuedAt: ctx.clock().toISOString(),
    renewedBy: null,
    revokedAt: null,
    revocationReason: null,
  };
  // The views first: a record is never stored without them, and a view whose record turns out
  // to be another request's (CERT_SERIAL_EXISTS below) is ignored by its requestId.
  await putViews(ctx, record);
  const stored = await ctx.db.conditional(
    new PutCommand({
      TableName: ctx.db.tableName,
      Item: certificateItem(record),
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
  if (stored) return { record, created: true };
  const existing = await getCertificate(ctx, input.serial);
  if (existing?.requestId === input.requestId) return { record: existing, created: false };
  throw new PkiError("CERT_SERIAL_EXISTS", `Serial ${input.serial}.`, {
    serial: input.serial,
    requestId: existing?.requestId ?? null,
  });
}

/** The stored item of a record, with its place on the inventory index. */
export function certificateItem(record: CertificateRecord): Item {
  return {
    ...key.certificate(record.serial),
    type: "certificate",
    gsi1pk: ALL_CERTIFICATES,
    gsi1sk: inventorySortKey(record),
    ...record,
  };
}

/** Writes the record's view items (idempotent: each is the same item every time). */
export async function putViews(
  ctx: Pick<RequestTableContext, "db">,
  record: Pick<CertificateRecord, "serial" | "notAfter" | "requestId" | "principal">,
): Promise<void> {
  await Promise.all(
    visibilityKeys(record.principal).map((visibility) =>
      ctx.db.send(() =>
        ctx.db.doc.send(
          new PutCommand({
            TableName: ctx.db.tableName,
            Item: {
              pk: viewPartition(visibility),
              sk: inventorySortKey(record),
              type: "certificate-view",
              serial: record.serial,
              requestId: record.requestId,
            },
          }),
        ),
      ),
    ),
  );
}

export async function getCertificate(
  ctx: RequestTableContext,
  serial: string,
): Promise<CertificateRecord | undefined> {
  const normal = normaliseSerial(serial);
  if (!normal) return undefined;
  const item = await ctx.db.getItem(key.certificate(normal));
  return item && certificateOfItem(item);
}

/**
 * The record a stored item holds. Items stored before the inventory lack the requester, CA and
 * renewal fields; they read as unknown until inventory/backfill.ts fills them in.
 */
export function certificateOfItem(item: Item): CertificateRecord {
  const principal: RequestPrincipal = item.principal ?? { id: "unknown", email: null, groups: [] };
  return {
    serial: item.serial,
    requestId: item.requestId,
    objectKey: item.objectKey,
    subject: item.subject,
    sans: item.sans,
    profile: item.profile,
    notBefore: item.notBefore,
    notAfter: item.notAfter,
    requester: item.requester ?? principal.email ?? "",
    principal: { id: principal.id, email: principal.email, groups: [...principal.groups] },
    caId: item.caId ?? "",
    renews: item.renews ?? null,
    issuedAt: item.issuedAt,
    renewedBy: item.renewedBy ?? null,
    revokedAt: item.revokedAt ?? null,
    revocationReason: item.revocationReason ?? null,
  };
}

export async function markCertificateRevoked(
  ctx: RequestTableContext,
  serial: string,
  revokedAt: string,
  reason: string,
): Promise<void> {
  const written = await ctx.db.update(
    new UpdateCommand({
      TableName: ctx.db.tableName,
      Key: key.certificate(serial),
      UpdateExpression: "SET #at = :at, #reason = :reason",
      ConditionExpression: "attribute_exists(pk) AND (attribute_not_exists(#at) OR #at = :null)",
      ExpressionAttributeNames: { "#at": "revokedAt", "#reason": "revocationReason" },
      ExpressionAttributeValues: { ":at": revokedAt, ":reason": reason, ":null": null },
    }),
  );
  if (written) return;
  // Already marked (the first time and reason stand), or no such certificate.
  if (!(await ctx.db.getItem(key.certificate(serial))))
    throw new PkiError("CERT_NOT_FOUND", `No certificate with serial ${serial} was issued here.`);
}

export async function markCertificateRenewed(
  ctx: RequestTableContext,
  serial: string,
  renewedBy: string,
): Promise<void> {
  const written = await ctx.db.update(
    new UpdateCommand({
      TableName: ctx.db.tableName,
      Key: key.certificate(serial),
      UpdateExpression: "SET #by = :by",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeNames: { "#by": "renewedBy" },
      ExpressionAttributeValues: { ":by": renewedBy },
    }),
  );
  if (!written)
    throw new PkiError("CERT_NOT_FOUND", `No certificate with serial ${serial} was issued here.`);
}
