/**
 * The API on the real registration authority over dynalite, listening on a real port, for the
 * inventory's tests: certificate records are written straight through the repository (as the
 * StoreCertificate step does), so a thousand take seconds, not a thousand signatures. The RA's
 * clock is fixed, so which certificates are valid, expired or due does not drift mid-test.
 */
import { createEvent, type EventBus } from "@spca/core/events/bus";
import type { RequestPrincipal } from "@spca/core/identity/principal";
import { DynamoCertificateInventory } from "@spca/core/inventory/dynamo-inventory";
import { loadConfig } from "@spca/core/policy/config";
import { RegistrationAuthority } from "@spca/core/ra/registration-authority";
import { DynamoRequestRepository } from "@spca/core/store/dynamo-request-repository";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import type { WorkflowEngine } from "@spca/core/workflow/engine";
import type { IssuingCa } from "@spca/core/workflow/steps/dependencies";
import type { San } from "@spca/core/x509/general-names";
import type { LocalDynamo } from "../../../core/test/support/dynamo.ts";
import { MemoryObjects } from "../../../core/test/support/memory-objects.ts";
import { shippedConfigPath } from "../../../core/test/support/test-ca.ts";
import { createApi } from "../../src/api/app.ts";
import { listenForApi } from "../../src/local/api-listener.ts";

/** The fixed now of every inventory world. */
export const NOW = new Date("2027-03-01T00:00:00.000Z");

export const inDays = (days: number) => new Date(NOW.getTime() + days * 86_400_000).toISOString();

/** A requester as a record names them: reached by their mailbox, whichever key they use. */
export const person = (email: string, groups: readonly string[] = []): RequestPrincipal => ({
  id: `oidc:${email}`,
  email,
  groups: [...groups],
});

export interface Seed {
  readonly serial: string;
  readonly principal: RequestPrincipal;
  readonly notAfter: string;
  readonly subject?: string;
  readonly sans?: readonly San[];
  readonly profile?: string;
  readonly caId?: string;
}

export async function inventoryWorld(
  dynamo: LocalDynamo,
  options: { readonly exportLimitBytes?: number } = {},
) {
  const tableName = await dynamo.freshTable();
  const now = () => NOW;
  const repository = new DynamoRequestRepository({ client: dynamo.client, tableName, now });
  const nothing = () => Promise.reject(new Error("nothing is signed or started here"));
  const engine: WorkflowEngine = {
    startExecution: nothing,
    sendTaskSuccess: nothing,
    sendTaskFailure: nothing,
  };
  const bus: EventBus = { publish: async (type, detail) => createEvent(type, detail) };
  const ca: IssuingCa = { issuingAuthority: nothing, chainPem: nothing };
  const ra = new RegistrationAuthority({
    repository,
    inventory: new DynamoCertificateInventory({ client: dynamo.client, tableName }),
    revocations: new DynamoRevocationStore({ client: dynamo.client, tableName }),
    engine,
    bus,
    config: loadConfig(shippedConfigPath),
    ca,
    objects: new MemoryObjects(),
    now,
  });
  const errors: unknown[] = [];
  const app = createApi({
    services: ra,
    clientAddress: () => "198.51.100.7",
    rateLimit: { burst: 100_000, perSecond: 100_000 },
    onUnexpectedError: (error) => errors.push(error),
    ...options,
  });
  const listener = await listenForApi(0);
  listener.attach(app.fetch);

  /** Stores certificate records, `parallel` at a time. */
  const seed = async (seeds: readonly Seed[], parallel = 32) => {
    for (let i = 0; i < seeds.length; i += parallel) {
      await Promise.all(
        seeds.slice(i, i + parallel).map((s) =>
          repository.putCertificate({
            serial: s.serial,
            requestId: `00000000-0000-4000-8000-${s.serial.padStart(12, "0")}`,
            objectKey: `certificates/${s.serial}.pem`,
            subject: s.subject ?? `CN=${s.serial}.example.internal`,
            sans: s.sans ?? [{ type: "dns", value: `${s.serial}.example.internal` }],
            profile: s.profile ?? "server",
            notBefore: inDays(-30),
            notAfter: s.notAfter,
            requester: s.principal.email ?? "nobody@example.com",
            principal: s.principal,
            caId: s.caId ?? "ca01",
            renews: null,
          }),
        ),
      );
    }
  };

  /** An API key of `role` for `owner`: its Authorization header. */
  const keyFor = async (role: "admin" | "requester" | "auditor" | "approver", owner: string) => {
    const { key } = await ra.createApiKey(role, role, owner);
    return { authorization: `Bearer ${key}` };
  };

  return {
    ra,
    repository,
    app,
    api: listener.url,
    errors,
    seed,
    keyFor,
    close: () => listener.close(),
  };
}

export type InventoryWorld = Awaited<ReturnType<typeof inventoryWorld>>;

/** RFC 4180 CSV back into rows of cells (quoted cells, doubled quotes, CRLF line ends). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) throw new Error(`CSV does not end with CRLF: ${cell}`);
  return rows;
}
