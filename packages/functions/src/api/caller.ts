/**
 * The API's door: each route names what it needs of its caller (callerCheck(...)(need)), and
 * the middleware authenticates the bearer credential (an API key or a person's access token),
 * checks the role and applies the rate limits per client address and per principal.
 */
import { apiKeyRoles } from "@spca/core/store/request-repository";
import type { Context } from "hono";
import { problem, problemResponse } from "./problem.ts";
import type { RateLimiter } from "./rate-limit.ts";
import type { ApiServices, Principal, Role } from "./services.ts";

/** The variables every route can read: the authenticated caller, if any. */
export type ApiEnv = { Variables: { caller: Principal | undefined } };

/**
 * What a route needs of its caller: a principal with one of these roles; any principal with a
 * role (what it may read is then decided per request); anyone where submission is open; or
 * nobody, though a credential that is sent is still checked.
 */
export type Need = readonly Role[] | "signed-in" | "open-submission" | "none";

export type CallerCheck = ReturnType<typeof callerCheck>;

/** Authenticates (when a credential is sent or required) and applies the rate limits. */
export function callerCheck(options: {
  readonly services: Pick<ApiServices, "authenticate">;
  readonly limiter: RateLimiter;
  readonly openSubmission?: boolean | undefined;
  readonly clientAddress: (c: Context) => string;
}) {
  const { services, limiter } = options;
  return (required: Need) => async (c: Context<ApiEnv>, next: () => Promise<void>) => {
    const address = options.clientAddress(c);
    const limited = (bucket: string) => {
      const wait = limiter.take(bucket);
      if (wait <= 0) return undefined;
      const res = problemResponse(c, {
        status: 429,
        code: "RATE_LIMITED",
        detail: `Retry in ${wait} s.`,
      });
      res.headers.set("Retry-After", String(wait));
      return res;
    };
    // The address pays before the key is looked up, so guessing keys is not free.
    const byAddress = limited(`ip:${address}`);
    if (byAddress) return byAddress;
    const header = c.req.header("authorization");
    let who: Principal | undefined;
    if (header !== undefined) {
      // An API key or a JWT access token; the bound keeps a header from costing a parse.
      const match = /^Bearer ([A-Za-z0-9_.-]{16,16384})$/.exec(header);
      who = match ? await services.authenticate(match[1]!) : undefined;
      if (!who) {
        throw problem(
          401,
          "UNAUTHENTICATED",
          "The credential is not valid: an unknown or revoked API key, or an access token that is expired, not signed by the identity provider, or issued for another audience.",
        );
      }
    }
    const open = required === "none" || (required === "open-submission" && options.openSubmission);
    if (!who && !open) {
      throw problem(
        401,
        "UNAUTHENTICATED",
        "Send Authorization: Bearer <API key or access token>.",
      );
    }
    if (who && required !== "none") {
      const wanted: readonly Role[] =
        required === "open-submission"
          ? ["requester", "admin"]
          : required === "signed-in"
            ? apiKeyRoles
            : required;
      if (!who.roles.some((role) => wanted.includes(role))) {
        throw problem(
          403,
          "FORBIDDEN",
          who.roles.length === 0
            ? `${who.email ?? who.id} has no role here: no group of theirs is mapped to one (identity.roleGroups).`
            : `This operation needs the role ${wanted.join(" or ")}; ${who.email ?? who.id} has ${who.roles.join(", ")}.`,
        );
      }
    }
    if (who) {
      const byPrincipal = limited(`principal:${who.id}`);
      if (byPrincipal) return byPrincipal;
    }
    c.set("caller", who);
    await next();
  };
}
