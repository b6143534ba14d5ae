/**
 * Fault injection for the crash-matrix test (packages/functions/test/local-crash.test.ts):
 * with `PKI_CRASH_AT` set, the local service kills itself with SIGKILL, as `kill -9` would, at
 * one named point, so the test can crash it at exactly the unlucky moment instead of racing a
 * timer. Unset (always, outside that test), nothing here changes anything.
 *
 * Points:
 * - `enter:<State>`: the execution's record says it is in <State>; its step has not run.
 * - `return:<function>`: the step function (NotifyRequester for the Notify… states) has done
 *   its work and returned; the engine has not recorded it, so the state runs again after the
 *   restart.
 * - `sent:<kind>`: a once-only mail of that kind went out (SES accepted it) and is not yet
 *   recorded as sent.
 * - `stored:request`: the API has stored a submitted request and not started its workflow.
 * - `claim:<kind>`: a step or subscriber has just claimed a once-only action whose kind starts
 *   with <kind> (`step:sign` in SignCertificate, `approval-needed:`, `certificate.issued`), and
 *   not done it yet.
 */
import type { RequestRepository } from "@spca/core/store/request-repository";
import type { StepHandlers } from "@spca/core/workflow/engine";

export interface CrashPoints {
  /** For the engine's onEvent: fires `enter:<State>`. */
  onStateEntered(state: string): void;
  /** Wraps the step functions: fires `return:<Step>`. */
  steps(handlers: StepHandlers): StepHandlers;
  /** Wraps the repository: fires `claim:<kind>`, `sent:<kind>` and `stored:request`. */
  repository<R extends RequestRepository>(repository: R): R;
}

export function crashPoints(spec = process.env.PKI_CRASH_AT): CrashPoints {
  const at = spec?.trim() || undefined;
  const crash = (point: string) => {
    const prefixed = at?.startsWith("claim:") || at?.startsWith("sent:");
    if (point !== at && !(prefixed && point.startsWith(at!))) return;
    process.stderr.write(`pki-local: crashing at ${point} (PKI_CRASH_AT)\n`);
    process.kill(process.pid, "SIGKILL");
  };
  return {
    onStateEntered: (state) => crash(`enter:${state}`),
    steps(handlers) {
      if (!at?.startsWith("return:")) return handlers;
      return Object.fromEntries(
        Object.entries(handlers).map(([name, handler]) => [
          name,
          async (payload: never) => {
            const result = await (handler as (p: never) => Promise<unknown>)(payload);
            crash(`return:${name}`);
            return result;
          },
        ]),
      ) as unknown as StepHandlers;
    },
    repository(repository) {
      if (!at?.startsWith("claim:") && !at?.startsWith("sent:") && at !== "stored:request")
        return repository;
      return new Proxy(repository, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (property === "claimMessage" && typeof value === "function") {
            return async (...args: Parameters<RequestRepository["claimMessage"]>) => {
              const claim = await value.apply(target, args);
              if (claim.state === "claimed") crash(`claim:${args[1]}`);
              return claim;
            };
          }
          if (property === "markMessageSent" && typeof value === "function") {
            return async (...args: Parameters<RequestRepository["markMessageSent"]>) => {
              crash(`sent:${args[1]}`);
              return value.apply(target, args);
            };
          }
          if (property === "createRequest" && typeof value === "function") {
            return async (...args: Parameters<RequestRepository["createRequest"]>) => {
              const created = await value.apply(target, args);
              crash("stored:request");
              return created;
            };
          }
          return value;
        },
      });
    },
  };
}
