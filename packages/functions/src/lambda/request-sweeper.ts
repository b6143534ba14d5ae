/**
 * Lambda entry point: the sweep for stranded requests, run by an EventBridge Scheduler schedule
 * every five minutes with `{"source":"schedule"}`. The API stores a request and then starts its
 * execution; a function that dies between the two leaves the request `submitted` with no
 * workflow. The sweep (core's startStrandedRequests) starts those executions, named after their
 * requests, so a request whose execution exists is never started twice.
 */
import { PkiError } from "@spca/core/errors";
import { type SweepResult, startStrandedRequests } from "@spca/core/ra/stranded-requests";
import type { AwsServices } from "./aws-services.ts";
import { dynamodbAdapters } from "./clients/dynamodb.ts";
import { eventBridgeAdapters } from "./clients/eventbridge.ts";
import { sfnStarterAdapters } from "./clients/sfn.ts";
import { containerServices } from "./container.ts";
import type { ScheduledInvocation } from "./crl-publisher.ts";
import { type LambdaContext, logger, observed } from "./observability.ts";

/**
 * Only requests stored at least this long ago are swept: the API starts the execution right
 * after storing the request, so a younger one may be between its store and its start.
 */
export const STRANDED_AFTER_MS = 2 * 60_000;

export function requestSweeperLambda(
  services: () => AwsServices,
): (event: ScheduledInvocation, context?: LambdaContext) => Promise<SweepResult> {
  return observed("request-sweeper", async (event: ScheduledInvocation) => {
    if ((event as Partial<ScheduledInvocation> | undefined)?.source !== "schedule") {
      throw new PkiError("EVENT_INVALID", 'The request sweeper takes {"source":"schedule"} only.');
    }
    const aws = services();
    const result = await startStrandedRequests(
      { repository: aws.repository, engine: aws.starter, bus: aws.bus },
      { olderThanMs: STRANDED_AFTER_MS },
    );
    // A start is worth a look (a function died mid-submission): WARN, with the request ids.
    const message = `Swept: ${result.examined} examined, ${result.started.length} started`;
    const summary = { examined: result.examined, started: [...result.started] };
    if (result.started.length > 0) logger.warn(message, summary);
    else logger.info(message, summary);
    return result;
  });
}

export const handler = requestSweeperLambda(
  containerServices("RequestSweeper", {
    ...dynamodbAdapters(),
    ...sfnStarterAdapters(),
    ...eventBridgeAdapters(),
  }),
);
