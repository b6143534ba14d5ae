/**
 * A data folder the local service runs on keeps its certificates, revocations and CRL numbers
 * in the service's table; `pki issue`'s file registry keeps them in files. One folder has one.
 */
import { PkiError } from "@spca/core/errors";
import { hostsLocalService } from "../local/stand-ins.ts";
import { runningService } from "./service-client.ts";

/**
 * The service keeps its own certificate registry and CRL numbers; the file registry's commands
 * must not fork them (two CRLs from one CA, each missing the other's revocations).
 */
export function refuseServiceFolder(dataDir: string, what: string, instead: string): void {
  if (!hostsLocalService(dataDir)) return;
  const running = runningService(dataDir) !== undefined;
  throw new PkiError(
    running ? "REGISTRY_CONFLICT" : "RUNTIME_NOT_RUNNING",
    `${what}: ${dataDir} belongs to the local service, which keeps its certificates, revocations and CRL; ${running ? "" : "the service is stopped: "}${instead}.`,
  );
}
