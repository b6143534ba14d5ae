/**
 * Issued certificates' records on the table, one item per serial: the serial's uniqueness is the
 * item's, so storing it is a conditional PutItem, and the same request storing it again finds its
 * own record. The PEM itself lives in the bucket, under the record's `objectKey`.
 */
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { normaliseSerial } from "../certificate/serial.ts";
import { PkiError } from "../errors.ts";
import type { RequestTableContext } from "./dynamo-request-context.ts";
import { key } from "./dynamo-request-items.ts";
import type {
  CertificateRecord,
  NewCertificateRecord,
  PutCertificateResult,
} from "./request-repository.ts";

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
    issuedAt: ctx.clock().toISOString(),
  };
  const stored = await ctx.db.conditional(
    new PutCommand({
      TableName: ctx.db.tableName,
      Item: { ...key.certificate(input.serial), type: "certificate", ...record },
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

export async function getCertificate(
  ctx: RequestTableContext,
  serial: string,
): Promise<CertificateRecord | undefined> {
  const normal = normaliseSerial(serial);
  if (!normal) return undefined;
  const item = await ctx.db.getItem(key.certificate(normal));
  if (!item) return undefined;
  return {
    serial: item.serial,
    requestId: item.requestId,
    objectKey: item.objectKey,
    subject: item.subject,
    sans: item.sans,
    profile: item.profile,
    notBefore: item.notBefore,
    notAfter: item.notAfter,
    issuedAt: item.issuedAt,
  };
}
