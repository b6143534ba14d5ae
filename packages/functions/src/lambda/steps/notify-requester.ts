/** Lambda entry point for the workflow's NotifyRequester Task (see docs/workflow.md). */
import { stepLambda } from "../step-handler.ts";

export const handler = stepLambda("NotifyRequester");
