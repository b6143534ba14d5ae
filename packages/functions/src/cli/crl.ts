/**
 * `pki crl` and `pki crl status`, for the issuing CA's CRL (the default) or, with `--ca root`,
 * the root's above it: a relying party that checks the whole chain (`openssl verify
 * -crl_check_all`) needs both. `--root` stays as the short form of `--ca root`.
 * While the local service runs on the data folder both go through its API (GET /v1/crl and
 * /v1/crl/status, with ?ca=). On a folder of `pki issue`'s, `pki crl` signs a new CRL with the
 * next number, and `pki crl status` reports the last one it signed, from the folder's files.
 */
import { type CrlCa, crlCas, isCrlCa } from "@spca/core/crl/ca-choice";
import { encodePem } from "@spca/core/encoding/pem";
import { PkiError } from "@spca/core/errors";
import type { DataFolderCa } from "@spca/core/store/data-folder-ca";
import { dataFolderCrlStatus } from "@spca/core/store/data-folder-crl-status";
import type { CrlStatusView } from "../api/services.ts";
import { hostsLocalService } from "../local/stand-ins.ts";
import { expectArgs, UsageError } from "./arguments.ts";
import { runningService } from "./service-client.ts";
import { refuseServiceFolder } from "./service-folder.ts";
import { table } from "./table.ts";

export interface CrlOptions {
  readonly der?: boolean;
  readonly ca?: string;
  /** Short for --ca root, as before --ca existed. */
  readonly root?: boolean;
}

export interface CrlFolder {
  readonly dataDir: string;
  /** The folder's CA, to read. */
  readonly readCa: () => DataFolderCa;
  /** The folder's CA, to change: waits for no service, keeps the folder private. */
  readonly changeCa: () => DataFolderCa;
}

export async function crl(
  folder: CrlFolder,
  sub: string | undefined,
  rest: readonly string[],
  values: CrlOptions,
): Promise<number> {
  const which = crlChoice(values);
  if (sub === "status") {
    expectArgs(rest, 0, "pki crl status [--ca issuing|root]");
    if (values.der) throw new UsageError("--der is for pki crl; pki crl status prints a table");
    process.stdout.write(await crlStatus(folder, which));
    return 0;
  }
  expectArgs(
    [sub, ...rest].filter((x) => x !== undefined),
    0,
    "pki crl [--der] [--ca issuing|root] | pki crl status [--ca issuing|root]",
  );
  const der = await currentCrl(folder, which);
  process.stdout.write(values.der ? der : encodePem("X509 CRL", der));
  return 0;
}

function crlChoice(values: CrlOptions): CrlCa {
  if (values.ca !== undefined && !isCrlCa(values.ca)) {
    throw new UsageError(`--ca must be ${crlCas.join(" or ")}, not "${values.ca}"`);
  }
  if (values.root && values.ca === "issuing") {
    throw new UsageError("--root is short for --ca root; it cannot go with --ca issuing");
  }
  return values.root ? "root" : (values.ca ?? "issuing");
}

/** The running service's published CRL, or a fresh one from `pki issue`'s registry. */
async function currentCrl(folder: CrlFolder, which: CrlCa): Promise<Uint8Array> {
  const service = runningService(folder.dataDir);
  if (service) return service.bytes(`/v1/crl?ca=${which}`, "application/pkix-crl");
  refuseServiceFolder(folder.dataDir, "pki crl", "start it (npm start) and run pki crl again");
  return folder.changeCa().crl(which);
}

async function crlStatus(folder: CrlFolder, which: CrlCa): Promise<string> {
  const service = runningService(folder.dataDir);
  if (service) {
    const s = await service.json<CrlStatusView>("GET", `/v1/crl/status?ca=${which}`);
    return table([
      ["CRL number", s.number],
      ["This update", s.thisUpdate],
      ["Next update", s.nextUpdate],
      ["Entries", String(s.entries)],
      ["Size", `${s.size} bytes`],
      ["Published", `${s.publishedAt} (${s.trigger})`],
      ["URL", s.url],
      ["CA", s.caId],
    ]);
  }
  if (hostsLocalService(folder.dataDir)) {
    throw new PkiError(
      "RUNTIME_NOT_RUNNING",
      `pki crl status reports what the local service published; start it on ${folder.dataDir} (npm start).`,
    );
  }
  // A CA in a folder (pki issue): the CRL pki crl signed last.
  const s = dataFolderCrlStatus(folder.readCa(), which);
  const unlisted = s.unlisted === 0 ? "0" : `${s.unlisted} (pki crl signs a CRL that lists them)`;
  return table([
    ["CRL number", s.number],
    ["This update", s.thisUpdate],
    ["Next update", s.nextUpdate],
    ["Entries", String(s.entries)],
    ...(which === "issuing" ? [["Not yet listed", unlisted]] : []),
    ["Size", `${s.size} bytes`],
    ["Signed", `by pki crl, kept at ${s.file}`],
    ["CA", s.caId],
  ]);
}
