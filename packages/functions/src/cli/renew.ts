/**
 * `pki renew --cert cert.pem --key key.pem [--reuse-key] [--daemon] [--out-cert F] [--out-key F]`:
 * renews a certificate through the running local service (POST /v1/certificates/{serial}/renew
 * with its admin key, who may renew anyone's). A new key of the same kind (or the same key with
 * --reuse-key, where the profile allows it), a CSR with the certificate's own names, then the
 * new certificate and key replace the files. With --daemon it keeps the certificate renewed:
 * it sleeps until the renewal window opens, renews, retries failures with a capped exponential
 * backoff, and stops cleanly on SIGTERM or SIGINT, like `step ca renew --daemon`.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomUUID } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import { PkiError } from "@spca/core/errors";
import { keyLike, renewalCsr } from "@spca/core/renewal/csr";
import { parseCertificate } from "@spca/core/x509/certificate";
import { expectArgs, UsageError } from "./arguments.ts";
import { replaceFiles } from "./atomic-files.ts";
import { requireRunningService, ServiceRefusal } from "./service-client.ts";

export const RENEW_USAGE =
  "pki renew --cert FILE --key FILE [--reuse-key] [--daemon] [--out-cert FILE] [--out-key FILE]";

export interface RenewValues {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly "reuse-key"?: boolean | undefined;
  readonly daemon?: boolean | undefined;
  readonly "out-cert"?: string | undefined;
  readonly "out-key"?: string | undefined;
}

interface Paths {
  readonly cert: string;
  readonly key: string;
}

interface Settings {
  readonly dataDir: string;
  readonly reuseKey: boolean;
  readonly out: Paths;
  readonly log: (line: string) => void;
}

export async function renew(
  dataDir: string,
  args: readonly (string | undefined)[],
  values: RenewValues,
): Promise<number> {
  expectArgs(args, 0, RENEW_USAGE);
  if (!values.cert || !values.key)
    throw new UsageError(`pki renew needs --cert and --key: ${RENEW_USAGE}`);
  const given = { cert: values.cert, key: values.key };
  const settings: Settings = {
    dataDir,
    reuseKey: values["reuse-key"] ?? false,
    out: { cert: values["out-cert"] ?? given.cert, key: values["out-key"] ?? given.key },
    log: (line) => process.stderr.write(`pki renew: ${new Date().toISOString()} ${line}\n`),
  };
  if (values.daemon) return daemon(given, settings);
  const renewed = await renewOnce(given, settings, () => false);
  process.stdout.write(
    `Renewed ${renewed.renews} as ${renewed.serial}, valid until ${renewed.notAfter}; wrote ${settings.out.cert}${settings.reuseKey ? "" : ` and ${settings.out.key}`}\n`,
  );
  return 0;
}

interface Pair {
  readonly certDer: Uint8Array;
  readonly serial: string;
  readonly key: KeyObject;
}

/** The certificate and its key, checked to belong together. */
function readPair(paths: Paths): Pair {
  const read = (file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch (e) {
      throw new PkiError(
        "INPUT_UNREADABLE",
        `Cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`,
      );
    }
  };
  const block = decodePemBlocks(read(paths.cert)).find((b) => b.label === "CERTIFICATE");
  if (!block) throw new PkiError("INPUT_INVALID", `${paths.cert} holds no PEM CERTIFICATE.`);
  const cert = parseCertificate(block.der);
  let key: KeyObject;
  try {
    key = createPrivateKey(read(paths.key));
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError("INPUT_INVALID", `${paths.key} is not a PEM private key.`);
  }
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  if (!Buffer.from(cert.spki).equals(spki))
    throw new PkiError("INPUT_INVALID", `${paths.key} is not the key of ${paths.cert}.`);
  return { certDer: block.der, serial: cert.serialHex, key };
}

interface Renewed {
  readonly renews: string;
  readonly serial: string;
  readonly notAfter: string;
}

/** Request statuses after which the request will never be issued. */
const UNISSUED = new Set(["rejected", "expired", "failed", "revoked"]);

async function renewOnce(
  paths: Paths,
  settings: Settings,
  stopping: () => boolean,
): Promise<Renewed> {
  const pair = readPair(paths);
  const client = requireRunningService(settings.dataDir, "pki renew");
  const key = settings.reuseKey ? pair.key : keyLike(pair.key);
  const csr = encodePem("CERTIFICATE REQUEST", await renewalCsr(pair.certDer, key));
  // One Idempotency-Key per renewal: a call resent on a dropped connection gets the first answer.
  const submitted = await client.json<{ id: string; status: string }>(
    "POST",
    `/v1/certificates/${pair.serial}/renew`,
    { csr },
    { idempotencyKey: randomUUID() },
  );
  settings.log(`renewing ${pair.serial}: request ${submitted.id} (${submitted.status})`);
  let said = submitted.status;
  let serial: string | null = null;
  for (let wait = 250; serial === null; wait = Math.min(wait * 2, 5_000)) {
    if (stopping() && said === "pending_approval") {
      throw new Error(`request ${submitted.id} still waits for approval; stopped waiting.`);
    }
    await new Promise((r) => setTimeout(r, wait));
    const request = await client.json<{
      status: string;
      serial: string | null;
      reason: string | null;
    }>("GET", `/v1/requests/${submitted.id}`);
    if (request.status !== said) settings.log(`request ${submitted.id}: ${request.status}`);
    said = request.status;
    if (UNISSUED.has(request.status)) {
      throw new RenewalEnded(
        `renewal request ${submitted.id} was ${request.status}${request.reason ? `: ${request.reason}` : ""}`,
        request.status,
      );
    }
    if (request.status === "issued") serial = request.serial;
  }
  const pem = Buffer.from(
    await client.bytes(`/v1/certificates/${serial}`, "application/x-pem-file"),
  ).toString("utf8");
  const issued = parseCertificate(decodePemBlocks(pem)[0]!.der);
  // Never write a certificate that is not for the key beside it.
  if (
    !Buffer.from(issued.spki).equals(createPublicKey(key).export({ format: "der", type: "spki" }))
  )
    throw new Error(`certificate ${serial} is not for the key of this renewal`);
  replaceFiles([
    // A certificate is public; keep a mode someone chose for the file, though.
    { path: settings.out.cert, content: pem, mode: modeOf(settings.out.cert) ?? 0o644 },
    ...(settings.reuseKey && settings.out.key === paths.key
      ? []
      : [
          {
            path: settings.out.key,
            content: key.export({ format: "pem", type: "pkcs8" }) as string,
            mode: 0o600,
          },
        ]),
  ]);
  return { renews: pair.serial, serial, notAfter: issued.notAfter.toISOString() };
}

function modeOf(file: string): number | undefined {
  try {
    return statSync(file).mode & 0o777;
  } catch {
    return undefined;
  }
}

/** The renewal request ended without a certificate. */
class RenewalEnded extends Error {
  readonly status: string;
  constructor(message: string, status: string) {
    super(message);
    this.status = status;
  }
}

interface CertificateJson {
  readonly serial: string;
  readonly status: string;
  readonly renewedBy: string | null;
  readonly renewal: { readonly opensAt: string; readonly closesAt: string } | null;
}

/** Renewing again cannot help: the certificate, its profile or the caller rule it out. */
function isPermanent(error: unknown): boolean {
  if (error instanceof RenewalEnded)
    return error.status === "rejected" || error.status === "revoked";
  if (error instanceof ServiceRefusal) {
    if (error.code === "RENEWAL_OUTSIDE_WINDOW") return false; // a clock apart: try again
    return [400, 403, 404, 409, 422].includes(error.status);
  }
  return error instanceof PkiError && error.code !== "RUNTIME_NOT_RUNNING";
}

const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_CAP_MS = 5 * 60_000;
/** Long sleeps wake up to look again: the file may be replaced, the clock may jump. */
const LONGEST_SLEEP_MS = 60 * 60_000;

async function daemon(given: Paths, settings: Settings): Promise<number> {
  const stop = new AbortController();
  let renewing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(130); // a second signal: now
    settings.log(`${signal}: stopping${renewing ? " once this renewal is written" : ""}`);
    stop.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stop.signal.aborted) return resolve();
      const timer = setTimeout(done, Math.min(ms, LONGEST_SLEEP_MS));
      function done() {
        clearTimeout(timer);
        stop.signal.removeEventListener("abort", done);
        resolve();
      }
      stop.signal.addEventListener("abort", done);
    });
  let paths = given;
  let failures = 0;
  settings.log(`watching ${paths.cert}`);
  try {
    while (!stop.signal.aborted) {
      try {
        const { serial } = readPair(paths);
        const cert = JSON.parse(
          Buffer.from(
            await requireRunningService(settings.dataDir, "pki renew").bytes(
              `/v1/certificates/${serial}`,
              "application/json",
            ),
          ).toString("utf8"),
        ) as CertificateJson;
        if (cert.renewedBy)
          throw new PkiError(
            "RENEWAL_SUPERSEDED",
            `${serial} was already renewed by ${cert.renewedBy}, whose key is not here.`,
          );
        if (!cert.renewal)
          throw new PkiError(
            "PROFILE_UNKNOWN",
            `The profile of ${serial} is no longer configured.`,
          );
        const opensAt = Date.parse(cert.renewal.opensAt);
        if (Date.now() > Date.parse(cert.renewal.closesAt)) {
          throw new PkiError(
            "RENEWAL_OUTSIDE_WINDOW",
            `${serial} could be renewed until ${cert.renewal.closesAt}.`,
          );
        }
        if (Date.now() < opensAt) {
          settings.log(`${serial} renews at ${cert.renewal.opensAt}`);
          await sleep(opensAt - Date.now());
          continue; // look again: the file may have been replaced meanwhile
        }
        renewing = true;
        const renewed = await renewOnce(paths, settings, () => stop.signal.aborted);
        renewing = false;
        failures = 0;
        paths = settings.out;
        settings.log(
          `renewed ${renewed.renews} as ${renewed.serial}, valid until ${renewed.notAfter}`,
        );
      } catch (error) {
        renewing = false;
        const message =
          error instanceof PkiError ? `${error.code}: ${error.message}` : (error as Error).message;
        if (isPermanent(error)) {
          settings.log(`giving up: ${message}`);
          return 1;
        }
        const delay = Math.min(BACKOFF_FIRST_MS * 2 ** failures, BACKOFF_CAP_MS);
        failures++;
        settings.log(
          `attempt ${failures} failed: ${message}; retrying in ${Math.round(delay / 1000)} s`,
        );
        await sleep(delay);
      }
    }
    settings.log("stopped");
    return 0;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
