/** Every step handler bound to its dependencies: what the local engine and the Lambdas call. */
import type { StepHandlers } from "../engine.ts";
import type { StepDependencies } from "./dependencies.ts";
import { notifyRequester } from "./notify-requester.ts";
import { recordOutcome } from "./record-outcome.ts";
import { requestApproval } from "./request-approval.ts";
import { signCertificate } from "./sign-certificate.ts";
import { storeCertificate } from "./store-certificate.ts";
import { storeRequest } from "./store-request.ts";
import { validateRequest } from "./validate-request.ts";

export function createStepHandlers(deps: StepDependencies): StepHandlers {
  return {
    ValidateRequest: (payload) => validateRequest(payload, deps),
    StoreRequest: (payload) => storeRequest(payload, deps),
    RequestApproval: (payload) => requestApproval(payload, deps),
    SignCertificate: (payload) => signCertificate(payload, deps),
    StoreCertificate: (payload) => storeCertificate(payload, deps),
    RecordOutcome: (payload) => recordOutcome(payload, deps),
    NotifyRequester: (payload) => notifyRequester(payload, deps),
  };
}
