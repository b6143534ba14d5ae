/**
 * What the enforcement Lambda tests share: the gates they configure, the function settings
 * (from an environment, as on Lambda) and the events the bus received.
 */
import { readFileSync } from "node:fs";
import type { PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { shippedConfigPath } from "../../../core/test/support/test-ca.ts";
import { settingsFromEnvironment } from "../../src/lambda/settings.ts";

export const ACCOUNT = "111122223333";
export const BUCKET = "spca-publication";
export const BUS = "spca-test-bus";
export const TRUST_STORES = [
  `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:truststore/edge/0123456789abcdef`,
  `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:truststore/internal/fedcba9876543210`,
];
export const DOMAIN = "mtls.example.com";
export const ANCHOR = `arn:aws:rolesanywhere:eu-west-1:${ACCOUNT}:trust-anchor/01234567-89ab-cdef-0123-456789abcdef`;
export const SYNC_ROLE = `arn:aws:iam::${ACCOUNT}:role/spca-test-EnforcementSyncRole-abcdefgh`;

const shipped = JSON.parse(readFileSync(shippedConfigPath, "utf8")) as Record<string, unknown>;

export function settingsFor(tableName: string, extra: Record<string, string> = {}) {
  return settingsFromEnvironment({
    PKI_TABLE: tableName,
    PKI_BUCKET: BUCKET,
    PKI_EVENT_BUS: BUS,
    PKI_CA_KEY_ID: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    PKI_PUBLIC_BASE_URL: "https://pki.example.com",
    PKI_CONFIG: JSON.stringify({
      ...shipped,
      enforcement: {
        albTrustStores: TRUST_STORES,
        apiGatewayDomains: [DOMAIN],
        rolesAnywhereTrustAnchors: [ANCHOR],
      },
    }),
    ...extra,
  });
}

/** What the bus received: the detail-types and details of our events. */
export function busEvents(entries: PutEventsRequestEntry[]) {
  return entries.map((e) => ({
    type: e.DetailType!,
    data: (JSON.parse(e.Detail!) as { data: Record<string, unknown> }).data,
  }));
}
