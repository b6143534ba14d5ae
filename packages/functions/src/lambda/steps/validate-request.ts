/** Lambda entry point for the workflow's ValidateRequest Task (see docs/workflow.md). */
import { stepLambda } from "../step-handler.ts";

export const handler = stepLambda("ValidateRequest");
