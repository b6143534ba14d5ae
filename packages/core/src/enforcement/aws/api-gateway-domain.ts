/**
 * An API Gateway custom domain name with mutual TLS (REST or HTTP API: one domain resource).
 * Its truststore is an exact object version of the bundle, so a CA bundle change points the
 * domain at the new version. API Gateway does not check revocation (the authorizer does), so a
 * new CRL needs no call here.
 */
import { type APIGatewayClient, UpdateDomainNameCommand } from "@aws-sdk/client-api-gateway";
import type {
  EnforcementPublication,
  EnforcementTarget,
  TargetResult,
  TargetState,
} from "../target.ts";
import { requireVersion, TargetRefusal } from "./quota-error.ts";

export class ApiGatewayDomainTarget implements EnforcementTarget {
  readonly kind = "api-gateway-domain" as const;
  readonly id: string;
  private readonly client: APIGatewayClient;

  constructor(client: APIGatewayClient, domainName: string) {
    this.client = client;
    this.id = domainName;
  }

  async sync(
    publication: EnforcementPublication,
    inPlace: TargetState | undefined,
  ): Promise<TargetResult> {
    const { bucket, bundle } = publication;
    if (inPlace?.bundleSha256 === bundle.sha256) {
      return { actions: [], details: inPlace.details };
    }
    const version = requireVersion(bundle, bucket, `the custom domain ${this.id}`);
    const updated = await this.client.send(
      new UpdateDomainNameCommand({
        domainName: this.id,
        patchOperations: [
          {
            op: "replace",
            path: "/mutualTlsAuthentication/truststoreUri",
            value: `s3://${bucket}/${bundle.key}`,
          },
          { op: "replace", path: "/mutualTlsAuthentication/truststoreVersion", value: version },
        ],
      }),
    );
    // The domain took the new truststore but could not use some of it: mutual TLS stays on,
    // yet some clients may be refused. A failure, so it is alarmed and retried.
    const warnings = updated.mutualTlsAuthentication?.truststoreWarnings ?? [];
    if (warnings.length > 0) {
      throw new TargetRefusal(
        "TruststoreWarnings",
        `The custom domain ${this.id} took truststore s3://${bucket}/${bundle.key} version ` +
          `${version} with ${warnings.length} warning(s): ${warnings.join("; ")}`,
      );
    }
    return { actions: ["UpdateDomainName"], details: { truststoreVersion: version } };
  }
}
