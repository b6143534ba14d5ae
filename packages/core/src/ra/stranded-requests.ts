/**
 * Stranded requests: stored, so accepted, but with no workflow run, because the process that
 * stored one died before it started the execution (the API starts it right after storing).
 * The sweep starts their executions; the engine names an execution after its request, so a
 * request whose execution did start is left as it is, and the sweep may run any time: at the
 * local service's start-up, and on AWS from a schedule.
 */
import type { EventBus } from "../events/bus.ts";
import type { RequestRepository } from "../store/request-repository.ts";
import type { ExecutionStarter } from "../workflow/engine.ts";

export interface StrandedRequestDependencies {
  readonly repository: RequestRepository;
  /** Only starts executions (the whole engine will do). */
  readonly engine: ExecutionStarter;
  readonly bus: EventBus;
}

export interface SweepResult {
  /** Requests `submitted` at least `olderThanMs` ago that were looked at. */
  readonly examined: number;
  /** Of those, the ones whose execution this sweep started. */
  readonly started: readonly string[];
}

/**
 * Starts the workflow of every request still `submitted` that was stored at least
 * `olderThanMs` before `now` (a younger one may be between its store and its start).
 */
export async function startStrandedRequests(
  deps: StrandedRequestDependencies,
  options: { readonly olderThanMs: number; readonly now?: Date },
): Promise<SweepResult> {
  const cutOff = (options.now ?? new Date()).getTime() - options.olderThanMs;
  const started: string[] = [];
  let examined = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.repository.listRequestsByStatus("submitted", {
      limit: 100,
      ...(cursor === undefined ? {} : { cursor }),
    });
    for (const request of page.items) {
      // Oldest first: the rest of the listing is younger still.
      if (Date.parse(request.createdAt) > cutOff) return { examined, started };
      examined++;
      // The index is eventually consistent: the item itself says whether it is still waiting.
      const current = await deps.repository.getRequest(request.id);
      if (current?.status !== "submitted") continue;
      const { executionId, alreadyStarted } = await deps.engine.startExecution(request.id);
      if (current.executionId !== executionId)
        await deps.repository.attachExecution(request.id, executionId);
      if (alreadyStarted) continue;
      started.push(request.id);
      // Its announcement died with it too; the event id makes a repeat harmless.
      await deps.bus.publish("request.submitted", {
        requestId: current.id,
        requester: current.requester,
        profile: current.profile,
        submittedAt: current.createdAt,
      });
    }
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return { examined, started };
}
