/** Lambda entry point for the workflow's StoreCertificate Task (see docs/workflow.md). */
import { stepLambda } from "../step-handler.ts";

export const handler = stepLambda("StoreCertificate");
