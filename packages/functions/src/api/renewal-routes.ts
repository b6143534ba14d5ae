/**
 * Renewal over HTTP: POST /v1/certificates/{serial}/renew takes a new CSR for the renewed
 * certificate's profile and names, and answers like a submission (202, the new request's id
 * and links; 200 for an Idempotency-Key replay). The refusals are the RENEWAL_* codes
 * (renewal/renew.ts), checked before anything is stored.
 */
import { PkiError } from "@spca/core/errors";
import { requestPagePath } from "@spca/core/notifications/messages";
import type { Hono } from "hono";
import * as v from "valibot";
import type { ApiEnv, CallerCheck } from "./caller.ts";
import { jsonBody, parse, requireJson, serialParam } from "./http.ts";
import { SubmitRequestBody } from "./schemas.ts";
import type { ApiServices } from "./services.ts";

/** A submission's fields; the profile is optional, and must be the certificate's if given. */
export const RenewBody = v.strictObject({
  ...SubmitRequestBody.entries,
  profile: v.optional(SubmitRequestBody.entries.profile),
});

export function renewalRoutes(
  app: Hono<ApiEnv>,
  services: Pick<ApiServices, "renew">,
  caller: CallerCheck,
): void {
  app.post("/v1/certificates/:serial/renew", caller("signed-in"), async (c) => {
    const serial = serialParam(c);
    requireJson(c);
    const body = parse(RenewBody, await jsonBody(c), "BODY_INVALID");
    const idempotencyKey = c.req.header("idempotency-key");
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      throw new PkiError("IDEMPOTENCY_KEY_INVALID");
    }
    const { request, created, statusToken } = await services.renew(
      serial,
      body,
      c.get("caller")!,
      idempotencyKey,
    );
    const links = {
      self: `/v1/requests/${request.id}`,
      ...(statusToken ? { page: requestPagePath(request.id, statusToken) } : {}),
    };
    c.header("Location", links.self);
    return c.json(
      { id: request.id, status: request.status, renews: serial, links },
      created ? 202 : 200,
    );
  });
}
