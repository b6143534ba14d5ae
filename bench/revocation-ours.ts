/**
 * Our side of the `revocation` bench: `npm start`'s runtime on a data folder whose table holds
 * many revocations already, certificates issued through the API, then each revoked through the
 * API and timed until the CRL object in s3rver's bucket lists it.
 *
 * Setting up takes two starts: the first creates the CA (its id keys the revocations), then
 * with the runtime stopped dynalite is opened on the folder alone and seeded (LevelDB has one
 * writer) and a publication's parts are timed, and the second start is the one measured.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { caIdOfChainPem } from "@spca/core/ca/authority";
import { crlFingerprint } from "@spca/core/crl/build";
import { readRuntimeInfo } from "../packages/functions/src/local/runtime-info.ts";
import { stop } from "../packages/functions/test/support/local-service.ts";
import { CrlWatch, POLL_MS } from "./crl-watch.ts";
import type { Leaf } from "./local-leaf.ts";
import { issueOurs, type Ours, startOurs } from "./local-ours.ts";
import { type PublicationParts, publicationParts } from "./revocation-breakdown.ts";
import { seedRevocations } from "./revocation-seed.ts";

/** A revocation not listed by then is a failure, not a slow figure. */
const LISTED_TIMEOUT_MS = 60_000;

export interface OursRevocationSetUp {
  readonly ours: Ours;
  readonly seedSeconds: number;
  /** Parts of one publication, timed alone before the measured start. */
  readonly parts: PublicationParts;
  /** Serials of the certificates to revoke, in order. */
  readonly serials: readonly string[];
  readonly watch: CrlWatch;
}

/** Seeds `seeded` revocations, starts the runtime and issues `toRevoke` certificates. */
export async function setUpOurs(
  dataDir: string,
  leaf: Leaf,
  seeded: number,
  toRevoke: number,
  onStarted: (ours: Ours) => void,
): Promise<OursRevocationSetUp> {
  const first = await startOurs(dataDir, false);
  let caId: string;
  try {
    caId = caIdOfChainPem(await (await fetch(`${first.service.api}/v1/ca`)).text());
  } finally {
    await stop(first.service);
  }
  const { seconds: seedSeconds } = await seedRevocations(dataDir, caId, seeded);
  const parts = await publicationParts(dataDir, caId);

  const ours = await startOurs(dataDir, false);
  onStarted(ours);
  const serials: string[] = [];
  for (let i = 0; i < toRevoke; i++) serials.push((await issueOurs(ours, leaf)).serial);
  const key = `crl/${caId}.crl`;
  // runtime.json names the S3 stand-in, so the bench reads the bucket itself, as a relying
  // party would, not the API's copy of the object.
  const info = readRuntimeInfo(ours.service.dataDir)!;
  const watch = await CrlWatch.open(`${info.s3}/${info.bucket}/${key}`);
  return { ours, seedSeconds, parts, serials, watch };
}

/**
 * Revokes `serial` through the API and waits for the bucket's CRL to list it. Returns the
 * milliseconds from sending the revocation to holding that CRL, and the CRL.
 */
export async function revokeOurs(
  setUp: OursRevocationSetUp,
  serial: string,
): Promise<{ ms: number; der: Uint8Array }> {
  const { service } = setUp.ours;
  const sent = performance.now();
  const res = await fetch(`${service.api}/v1/certificates/${serial}/revoke`, {
    method: "POST",
    headers: { authorization: `Bearer ${service.key}`, "content-type": "application/json" },
    body: JSON.stringify({ reason: "keyCompromise" }),
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`revoking ${serial}: ${res.status} ${body}`);
  const { at, der } = await setUp.watch.waitListing(serial, LISTED_TIMEOUT_MS);
  return { ms: at - sent, der };
}

export interface CrlStatusView {
  readonly number: string;
  readonly entries: number;
  readonly size: number;
  readonly sha256: string;
}

/**
 * GET /v1/crl/status once it describes `der`. The publisher writes the CRL to the bucket first
 * and records the publication after, so right after the object appears it may still describe
 * the one before.
 */
export async function crlStatusOf(
  setUp: OursRevocationSetUp,
  der: Uint8Array,
): Promise<CrlStatusView> {
  const sha256 = crlFingerprint(der);
  const deadline = performance.now() + 5_000;
  for (;;) {
    const res = await fetch(`${setUp.ours.service.api}/v1/crl/status`);
    if (res.status !== 200)
      throw new Error(`GET /v1/crl/status: ${res.status} ${await res.text()}`);
    const status = (await res.json()) as CrlStatusView;
    if (status.sha256 === sha256 || performance.now() > deadline) return status;
    await sleep(POLL_MS);
  }
}
