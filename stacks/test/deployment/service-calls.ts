/**
 * Calls AWS services make on the deployment's behalf, offline: the state machine invoking a
 * step, EventBridge invoking a subscriber or sending to a queue, Lambda's event source mapping
 * polling SQS with the function's role, an asynchronous invocation's failure destination, the
 * schedule invoking the publisher, CloudFront reaching its origins. Each is authorized by a role
 * or a resource policy of the synthesis, so the conformance test evaluates them like the
 * functions' own calls.
 */
import type { IamRequest } from "../../../packages/functions/src/lambda/sdk-call-log.ts";

export interface ServiceCall extends IamRequest {
  /** A role ARN, or a service principal such as "events.amazonaws.com". */
  readonly principal: string;
  /** What made the call, for messages: "EventBridge rule …", "the state machine", … */
  readonly by: string;
}

export class ServiceCalls {
  readonly calls: ServiceCall[] = [];

  record(call: ServiceCall): void {
    this.calls.push(call);
  }
}
