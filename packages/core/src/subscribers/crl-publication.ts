/**
 * Republishing the CRL when a certificate is revoked. The subscriber only asks for a
 * publication; `publish` decides how requests are batched (locally a CoalescingTrigger, on AWS
 * the SQS batching window in front of the publisher Lambda). It resolves once a CRL that lists
 * the revocation is out, so a failed publication is retried like any failed delivery.
 */
import { subscription } from "../events/bus.ts";

export function crlPublicationSubscription(publish: () => Promise<unknown>) {
  return subscription("crl-publication", ["certificate.revoked"], async () => {
    await publish();
  });
}
