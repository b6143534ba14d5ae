/**
 * The `enforcement` section of the configuration: the gates that refuse a revoked certificate,
 * which every CRL publication and every CA-certificate change is pushed to
 * (docs/enforcement.md). Each list names the exact resources, and the IAM grants name exactly
 * these (stacks/enforcement.ts).
 */
import * as v from "valibot";
import { Domain } from "../policy/fields.ts";

/** An ALB or NLB trust store: arn:aws:elasticloadbalancing:<region>:<account>:truststore/<name>/<id>. */
export const TRUST_STORE_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z]{2}(-[a-z]+)+-\d:\d{12}:truststore\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

/** An IAM Roles Anywhere trust anchor: arn:aws:rolesanywhere:<region>:<account>:trust-anchor/<uuid>. */
export const TRUST_ANCHOR_ARN =
  /^arn:aws[a-z-]*:rolesanywhere:[a-z]{2}(-[a-z]+)+-\d:\d{12}:trust-anchor\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function distinctList<T extends v.GenericSchema<string, string>>(item: T, name: string) {
  return v.optional(
    v.pipe(
      v.array(item),
      v.check(
        (list) => new Set(list.map((s) => s.toLowerCase())).size === list.length,
        `enforcement.${name} lists an entry twice`,
      ),
    ),
    [],
  );
}

export const EnforcementSchema = v.optional(
  v.strictObject({
    /** ALB and NLB trust stores (the same resource type): CRLs added, CA bundle replaced. */
    albTrustStores: distinctList(
      v.pipe(
        v.string(),
        v.regex(
          TRUST_STORE_ARN,
          (i) =>
            `"${i.input}" is not a trust store ARN (arn:aws:elasticloadbalancing:<region>:<account>:truststore/<name>/<id>)`,
        ),
      ),
      "albTrustStores",
    ),
    /** API Gateway custom domain names with mutual TLS: the truststore version follows the bundle. */
    apiGatewayDomains: distinctList(Domain, "apiGatewayDomains"),
    /** IAM Roles Anywhere trust anchors: the CRL imported once, then updated. */
    rolesAnywhereTrustAnchors: distinctList(
      v.pipe(
        v.string(),
        v.regex(
          TRUST_ANCHOR_ARN,
          (i) =>
            `"${i.input}" is not a trust anchor ARN (arn:aws:rolesanywhere:<region>:<account>:trust-anchor/<uuid>)`,
        ),
      ),
      "rolesAnywhereTrustAnchors",
    ),
  }),
  {},
);

export type EnforcementConfig = v.InferOutput<typeof EnforcementSchema>;
