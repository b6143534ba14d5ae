/**
 * What the step handlers work with, each behind its port. The same object serves the Lambda
 * wrappers (AWS adapters) and local mode (stand-in adapters).
 */
import type { Authority } from "../../ca/authority.ts";
import type { EventBus } from "../../events/bus.ts";
import type { Mailer } from "../../notifications/mailer.ts";
import type { Config } from "../../policy/config.ts";
import type { ObjectStore } from "../../store/object-store.ts";
import type { RequestRepository } from "../../store/request-repository.ts";

/** The CA that signs leaves: a data-folder CA locally, a KMS-backed one on AWS. */
export interface IssuingCa {
  issuingAuthority(): Promise<Authority>;
  /** The issuing CA certificate and the certificates above it, PEM, root last. */
  chainPem(): Promise<string>;
  /**
   * The root above the issuing CA, when this deployment holds its key (a local two-tier CA):
   * its CRL is published too, since the issuing CA certificate points to it. Throws
   * CA_ROOT_NOT_HELD when the root is kept elsewhere.
   */
  rootAuthority?(): Promise<Authority>;
}

export interface StepDependencies {
  readonly repository: RequestRepository;
  readonly config: Config;
  readonly ca: IssuingCa;
  readonly objects: ObjectStore;
  readonly mailer: Mailer;
  readonly bus: EventBus;
  readonly now?: () => Date;
}

/** Bucket keys. */
export const objectKeys = {
  certificate: (serial: string) => `certificates/${serial}.pem`,
};
