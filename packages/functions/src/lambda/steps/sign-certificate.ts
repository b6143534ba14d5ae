/** Lambda entry point for the workflow's SignCertificate Task (see docs/workflow.md). */
import { stepLambda } from "../step-handler.ts";

export const handler = stepLambda("SignCertificate");
