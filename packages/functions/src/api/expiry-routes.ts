/**
 * POST /v1/expiry-reminders/run (admin): runs the expiry-reminder job now and answers its
 * report, for operators and tests (`pki expiry run`). The local service wires the job in; on
 * AWS the job is its own function on a daily schedule, and the API answers 404 saying so.
 * Running it again is harmless: every reminder is sent once, whoever runs the job.
 */
import type { ExpiryReport } from "@spca/core/expiry/reminders";
import type { Hono } from "hono";
import type { ApiEnv, CallerCheck } from "./caller.ts";
import { problem } from "./problem.ts";

export type RunExpiryReminders = () => Promise<ExpiryReport>;

export function expiryRoutes(
  app: Hono<ApiEnv>,
  run: RunExpiryReminders | undefined,
  caller: CallerCheck,
): void {
  app.post("/v1/expiry-reminders/run", caller(["admin"]), async (c) => {
    if (!run) {
      throw problem(
        404,
        "NOT_FOUND",
        "The expiry reminders run on their daily schedule here (the ExpiryReminders function), not through the API.",
      );
    }
    return c.json(await run());
  });
}
