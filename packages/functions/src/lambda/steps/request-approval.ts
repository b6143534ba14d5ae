/** Lambda entry point for the workflow's RequestApproval Task (see docs/workflow.md). */
import { stepLambda } from "../step-handler.ts";

export const handler = stepLambda("RequestApproval");
