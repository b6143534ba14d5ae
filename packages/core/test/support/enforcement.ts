/**
 * What the enforcement tests run against: a real two-tier CA, real CRLs (buildCrl) published
 * as PEM with a trust-store bundle in a versioned in-memory bucket, the sync's state in the
 * real DynamoDB store on dynalite, and a bus that validates and records every event. Only the
 * AWS gates' own APIs are mocked (by the tests, with aws-sdk-client-mock).
 */
import { rmSync } from "node:fs";
import {
  AddTrustStoreRevocationsCommand,
  DescribeTrustStoreRevocationsCommand,
  ModifyTrustStoreCommand,
  RemoveTrustStoreRevocationsCommand,
  RevocationContentNotFoundException,
  RevocationIdNotFoundException,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  ImportCrlCommand,
  ListCrlsCommand,
  ResourceNotFoundException,
  UpdateCrlCommand,
} from "@aws-sdk/client-rolesanywhere";
import type { AwsStub } from "aws-sdk-client-mock";
import type { Authority } from "../../src/ca/authority.ts";
import { publicationKeys, TRUSTSTORE_KEY } from "../../src/ca/publication-urls.ts";
import { buildCrl, crlFingerprint, type RevokedEntry } from "../../src/crl/build.ts";
import { parseCrl } from "../../src/crl/parse.ts";
import { decodePemBlocks, encodePem } from "../../src/encoding/pem.ts";
import { DynamoEnforcementStateStore } from "../../src/enforcement/dynamo-state-store.ts";
import type { EnforcementStateStore } from "../../src/enforcement/state-store.ts";
import { EnforcementSync } from "../../src/enforcement/sync.ts";
import type { EnforcementTarget, TargetState } from "../../src/enforcement/target.ts";
import { createEvent, type EventBus } from "../../src/events/bus.ts";
import type { DomainEvent, EventType } from "../../src/events/catalogue.ts";
import type { DataFolderCa } from "../../src/store/data-folder-ca.ts";
import { DynamoAccess } from "../../src/store/dynamo-access.ts";
import type { PutOptions } from "../../src/store/object-store.ts";
import type { CrlPublication, CrlState } from "../../src/store/revocation-store.ts";
import type { LocalDynamo } from "./dynamo.ts";
import { MemoryObjects } from "./memory-objects.ts";
import { tempCa } from "./test-ca.ts";

export const BUCKET = "spca-publication";

/** A versioned bucket: every put is a new object version, `v1`, `v2`, ... across all keys. */
export class VersionedObjects extends MemoryObjects {
  private versions = 0;
  /** Every version ever written, as S3 keeps them: `<key>@<versionId>`. */
  readonly history = new Map<string, Uint8Array>();
  /** False: puts keep no version, as in a bucket without versioning. */
  versioned = true;

  override async put(
    key: string,
    body: Uint8Array | string,
    contentType: string,
    options: PutOptions = {},
  ): Promise<void> {
    await super.put(key, body, contentType, options);
    if (!this.versioned) return;
    const object = this.objects.get(key)!;
    const versionId = `v${++this.versions}`;
    this.objects.set(key, { ...object, versionId });
    this.history.set(`${key}@${versionId}`, object.body);
  }
}

/** A bus that checks each detail against the catalogue, as the real ones do, and keeps it. */
export class RecordingBus implements EventBus {
  readonly events: DomainEvent[] = [];
  async publish<T extends EventType>(type: T, detail: DomainEvent<T>["detail"]) {
    const event = createEvent(type, detail);
    this.events.push(event as DomainEvent);
    return event;
  }
  of<T extends EventType>(type: T): DomainEvent<T>["detail"][] {
    return this.events
      .filter((e) => e.type === type)
      .map((e) => e.detail as DomainEvent<T>["detail"]);
  }
}

/** Entry i: a distinct serial, revoked at a fixed time. */
export function revoked(count: number, from = 0): RevokedEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    serialHex: `7e${(from + i).toString(16).padStart(30, "0")}`,
    revokedAt: 1_767_225_600 + from + i,
    reason: "keyCompromise" as const,
  }));
}

export interface PublishedCrl {
  readonly number: bigint;
  readonly der: Uint8Array;
  readonly pem: Uint8Array;
  readonly sha256: string;
  readonly versionId: string | undefined;
}

export interface EnforcementWorld {
  readonly ca: DataFolderCa;
  readonly authority: Authority;
  readonly caId: string;
  readonly objects: VersionedObjects;
  readonly bus: RecordingBus;
  readonly states: EnforcementStateStore;
  /** The clock the sync reads; tests move it. */
  clock: Date;
  /** Builds and publishes the next CRL (PEM object plus the recorded publication). */
  publishCrl(entries?: readonly RevokedEntry[]): Promise<PublishedCrl>;
  /** Publishes the trust-store bundle: the CA chain, or `pem` in its place. */
  publishBundle(pem?: string): Promise<{ sha256: string; versionId: string | undefined }>;
  sync(targets: readonly EnforcementTarget[], states?: EnforcementStateStore): EnforcementSync;
  state(target: string): Promise<TargetState | undefined>;
  close(): void;
}

/** A fresh world on its own table. `dynamo` is the file's dynalite. */
export async function enforcementWorld(dynamo: LocalDynamo): Promise<EnforcementWorld> {
  const ca = tempCa();
  await ca.init({ issuing: { keySpec: "ECC_NIST_P256" }, twoTier: true });
  const authority = await ca.issuingAuthority();
  const chainPem = await ca.chainPem();
  const caId = authority.id;
  const objects = new VersionedObjects();
  const bus = new RecordingBus();
  const states = new DynamoEnforcementStateStore(
    new DynamoAccess(dynamo.client, await dynamo.freshTable()),
  );
  let published: CrlPublication | null = null;
  let number = 0n;
  const revocations = {
    async crlState(id: string): Promise<CrlState> {
      if (id !== caId) throw new Error(`crlState for an unknown CA ${id}`);
      return { published, coveredTicket: 0, lastTicket: 0 };
    },
  };
  const world: EnforcementWorld = {
    ca,
    authority,
    caId,
    objects,
    bus,
    states,
    clock: new Date("2026-03-01T10:00:00.000Z"),
    async publishCrl(entries = []) {
      number += 1n;
      const thisUpdate = new Date(world.clock.getTime() - 60_000);
      const nextUpdate = new Date(thisUpdate.getTime() + 7 * 86_400_000);
      const der = await buildCrl(authority, { number, thisUpdate, nextUpdate, entries });
      const pem = new TextEncoder().encode(encodePem("X509 CRL", der));
      const key = publicationKeys(caId).crlPem;
      await objects.put(key, pem, "application/x-pem-file");
      const sha256 = crlFingerprint(der);
      published = {
        number: number.toString(),
        thisUpdate: thisUpdate.toISOString(),
        nextUpdate: nextUpdate.toISOString(),
        entries: entries.length,
        size: der.length,
        sha256,
        publishedAt: world.clock.toISOString(),
        trigger: "revocation",
      };
      return { number, der, pem, sha256, versionId: objects.objects.get(key)!.versionId };
    },
    async publishBundle(pem) {
      const bundle =
        pem ??
        decodePemBlocks(chainPem)
          .map((b) => encodePem("CERTIFICATE", b.der))
          .join("");
      await objects.put(TRUSTSTORE_KEY, bundle, "application/x-pem-file");
      const stored = objects.objects.get(TRUSTSTORE_KEY)!;
      return { sha256: crlFingerprint(stored.body), versionId: stored.versionId };
    },
    sync(targets, over = states) {
      return new EnforcementSync({
        targets,
        states: over,
        objects,
        revocations,
        ca: { chainPem: async () => chainPem },
        bus,
        bucket: BUCKET,
        now: () => world.clock,
      });
    },
    state: (target) => states.get(target),
    close: () => rmSync(ca.dir, { recursive: true, force: true }),
  };
  return world;
}

/** The commands a mocked client received, in order: `[name, input]`. */
export function sent(mock: {
  calls(): readonly { args: readonly unknown[] }[];
}): [string, Record<string, unknown>][] {
  return mock.calls().map((call) => {
    const command = call.args[0] as {
      constructor: { name: string };
      input: Record<string, unknown>;
    };
    return [command.constructor.name.replace(/Command$/, ""), command.input];
  });
}

/** An SDK-shaped service error (what a rejected call throws: `name` is the error code). */
export function serviceError(name: string, message = name, fault: "client" | "server" = "client") {
  return Object.assign(new Error(message), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: fault === "client" ? 400 : 500 },
  });
}

/**
 * A trust store behind a mocked ELB client, with the service's behaviour for revocation
 * lists: Add reads the exact object version (missing: RevocationContentNotFound) and numbers
 * the list, Describe lists them, Remove drops them (an unknown id: RevocationIdNotFound, and
 * nothing is removed). `lists` is what the store holds; `failNext` makes the next call of a
 * command throw `error` instead (a crash, a quota, a 5xx).
 */
export function fakeTrustStore(
  mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, unknown>,
  objects: VersionedObjects,
) {
  const lists = new Map<number, { key: string; version: string; entries: number }>();
  const failures = new Map<string, Error[]>();
  const failing = (name: string) => {
    const error = failures.get(name)?.shift();
    if (error) throw error;
  };
  let nextId = 1001;
  mock.on(ModifyTrustStoreCommand).callsFake(() => {
    failing("ModifyTrustStore");
    return {};
  });
  mock.on(DescribeTrustStoreRevocationsCommand).callsFake((input) => {
    failing("DescribeTrustStoreRevocations");
    return {
      TrustStoreRevocations: [...lists].map(([id, list]) => ({
        TrustStoreArn: input.TrustStoreArn,
        RevocationId: id,
        RevocationType: "CRL",
        NumberOfRevokedEntries: list.entries,
      })),
    };
  });
  mock.on(AddTrustStoreRevocationsCommand).callsFake((input) => {
    failing("AddTrustStoreRevocations");
    return {
      TrustStoreRevocations: input.RevocationContents.map(
        (c: { S3Key: string; S3ObjectVersion: string }) => {
          const body = objects.history.get(`${c.S3Key}@${c.S3ObjectVersion}`);
          if (!body) {
            throw new RevocationContentNotFoundException({
              message: "no such object",
              $metadata: {},
            });
          }
          const der = decodePemBlocks(new TextDecoder().decode(body))[0]!.der;
          let entries = 0;
          for (const _ of parseCrl(der).entries()) entries++;
          const id = nextId++;
          lists.set(id, { key: c.S3Key, version: c.S3ObjectVersion, entries });
          return {
            TrustStoreArn: input.TrustStoreArn,
            RevocationId: id,
            RevocationType: "CRL",
            NumberOfRevokedEntries: entries,
          };
        },
      ),
    };
  });
  mock.on(RemoveTrustStoreRevocationsCommand).callsFake((input) => {
    failing("RemoveTrustStoreRevocations");
    const missing = input.RevocationIds.filter((id: number) => !lists.has(id));
    if (missing.length > 0) {
      throw new RevocationIdNotFoundException({
        message: `Revocation IDs '${missing.join(", ")}' not found`,
        $metadata: {},
      });
    }
    for (const id of input.RevocationIds) lists.delete(id);
    return {};
  });
  return {
    lists,
    failNext(command: string, error: Error) {
      failures.set(command, [...(failures.get(command) ?? []), error]);
    },
  };
}

/**
 * IAM Roles Anywhere's CRLs behind a mocked client: ImportCrl stores one (any number may share
 * a name), ListCrls pages through all of them two at a time, UpdateCrl replaces the data of an
 * existing one (else ResourceNotFoundException). `at` records the clock at each call.
 */
export function fakeRolesAnywhere(
  // biome-ignore lint/suspicious/noExplicitAny: the 3.332 client's stub types differ from 3.x today.
  mock: any,
  now: () => number,
) {
  const crls = new Map<string, { name: string; trustAnchorArn: string; crlData: Uint8Array }>();
  const at: number[] = [];
  let next = 1;
  mock.on(ListCrlsCommand).callsFake((input: { nextToken?: string }) => {
    at.push(now());
    const all = [...crls].map(([crlId, c]) => ({ crlId, ...c, enabled: true }));
    const start = input.nextToken ? Number(input.nextToken) : 0;
    return {
      crls: all.slice(start, start + 2),
      ...(start + 2 < all.length ? { nextToken: String(start + 2) } : {}),
    };
  });
  mock
    .on(ImportCrlCommand)
    .callsFake((input: { name: string; trustAnchorArn: string; crlData: Uint8Array }) => {
      at.push(now());
      const crlId = `00000000-0000-4000-8000-${String(next++).padStart(12, "0")}`;
      crls.set(crlId, {
        name: input.name,
        trustAnchorArn: input.trustAnchorArn,
        crlData: input.crlData,
      });
      return {
        crl: { crlId, name: input.name, trustAnchorArn: input.trustAnchorArn, enabled: true },
      };
    });
  mock.on(UpdateCrlCommand).callsFake((input: { crlId: string; crlData: Uint8Array }) => {
    at.push(now());
    const crl = crls.get(input.crlId);
    if (!crl) {
      throw new ResourceNotFoundException({ message: "The CRL was not found", $metadata: {} });
    }
    crl.crlData = input.crlData;
    return { crl: { crlId: input.crlId, ...crl } };
  });
  return { crls, at };
}
