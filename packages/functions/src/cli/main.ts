/**
 * `pki`: operate the CA in a data folder. Every command takes --data-dir (default
 * $PKI_DATA_DIR, else ./.pki-data) and --config (default $PKI_CONFIG, else ./pki.config.json,
 * else the project's bundled pki.config.json). Errors go to stderr with a non-zero status.
 * `pki ca csr|import|show --aws` and `pki keys create --aws` act on the deployment on AWS
 * instead, through its CA bootstrap function (aws-target.ts).
 */
import { parseArgs } from "node:util";
import {
  isRevocationReason,
  type RevocationReason,
  revocationReasons,
} from "@spca/core/crl/reasons";
import { isPkiError } from "@spca/core/errors";
import { inspect } from "@spca/core/inspect";
import { loadConfig } from "@spca/core/policy/config";
import { API_KEY_ID } from "@spca/core/ra/api-keys";
import {
  type KeySpec,
  keySpecs,
  type SigningAlgorithm,
  signingAlgorithms,
} from "@spca/core/signer/algorithms";
import { DataFolderCa, type SignerChoice } from "@spca/core/store/data-folder-ca";
import { apiKeyRoles } from "@spca/core/store/request-repository";
import { securePrivateDataFolder } from "../local/data-folder-modes.ts";
import { assertNoRuntime } from "../local/runtime-lock.ts";
import { configPath, dataDirPath } from "../locations.ts";
import {
  apiKeyOwner,
  apiKeyRole,
  expectArgs,
  processOutput,
  readInput,
  UsageError,
} from "./arguments.ts";
import { aws } from "./aws-commands.ts";
import { CaFunctionError } from "./aws-target.ts";
import { certs } from "./certs.ts";
import { crl } from "./crl.ts";
import { EXPIRY_USAGE, expiry } from "./expiry.ts";
import { openKeyStore, printCreatedKey } from "./keys.ts";
import { RENEW_USAGE, renew } from "./renew.ts";
import { requests } from "./requests.ts";
import { runningService } from "./service-client.ts";
import { refuseServiceFolder } from "./service-folder.ts";
import { table } from "./table.ts";

const USAGE = `Usage: pki <command> [options]

CA lifecycle
  pki ca init [--key-spec SPEC] [--signing-algorithm ALG] [--kms-key-id ARN]
              [--two-tier [--root-key-spec SPEC] [--root-kms-key-id ARN]] [--subject DN]
  pki ca csr  [--key-spec SPEC] [--kms-key-id ARN] [--subject DN]   CSR for the CA key (offline root)
  pki ca import FILE                                            install the signed CA certificate + chain
  pki ca show                                                   print the CA chain (PEM)

The deployment on AWS, run through SST: npx sst shell --stage STAGE -- npx pki ... --aws
  pki ca csr --aws [--subject DN]                               CSR for the deployed KMS key (default: the deployed ca.subject)
  pki ca import FILE --aws                                      check and install the signed certificate + chain
  pki ca show --aws                                             print the deployed CA chain (PEM)
  pki keys create --aws --role ROLE --owner EMAIL [--label TEXT]
                                                                print a new key for the deployed API (shown once)
  ca csr and ca import serve an offline root (aws.ca.bootstrap "external"); keys create makes
  the first admin key (list and revoke keys through the API with it: GET /v1/keys,
  DELETE /v1/keys/{id}). These invoke the deployed CA bootstrap function, which holds the KMS
  key, the bucket and the table: SST_RESOURCE_Pki names it (caFunction, region), and the
  caller's AWS credentials need lambda:InvokeFunction on it, nothing else. No data folder or
  local configuration is used.

Certificates
  pki issue --csr FILE --profile NAME [--days N]                issue directly, print the PEM
  pki revoke SERIAL --reason REASON                             reasons: ${Object.keys(revocationReasons).join(", ")}
  pki crl [--der] [--ca issuing|root]                           print the CRL (the service's published one while it runs)
  pki crl status [--ca issuing|root]                            number, updates, entries, size, last publication
  pki inspect FILE                                              summarise a CSR, certificate or CRL
  --ca root: the root CA's CRL, which checking the whole chain needs too (openssl verify
  -crl_check_all); the default is the issuing CA's. --root is short for --ca root. On a
  folder of pki issue's, pki crl signs a new CRL each time and pki crl status reports the
  last one it signed.

While the local service runs on the data folder, revoke and crl go through its API (it
republishes the CRL and tells the requester); issue and the CA commands wait for it to stop.

Certificate inventory (through the running local service's API), soonest to expire first
  pki certs list [--status valid|revoked|expired] [--profile P] [--requester EMAIL] [--ca ID]
                 [--q TEXT] [--expires-before T] [--expires-after T] [--limit N] [--cursor C] [--json]
                                                                a page as a table (or JSON); a next page
                                                                is named by its --cursor
  pki certs export --format csv|jsonl [--output FILE] [the same filters]
                                                                every match, streamed to stdout or to FILE
  --q: text in the subject or a SAN. T: a date (2027-01-31) or an instant with its offset
  (2027-01-31T12:00:00Z); --expires-before is exclusive.

Renewal (through the running local service's API)
  ${RENEW_USAGE}
                                                                a new key like the old one (or the same,
                                                                --reuse-key, where the profile allows it),
                                                                a CSR for the certificate's names; the new
                                                                certificate and key replace the files (or
                                                                go to --out-cert/--out-key) atomically
  --daemon: keep it renewed: sleep until the renewal window opens, renew, retry failures with
  backoff (1 s doubling to 5 min); SIGTERM or SIGINT stops it cleanly.

Expiry reminders (through the running local service's API)
  ${EXPIRY_USAGE}                                       run the daily reminder job now; print what it
                                                                mailed (--json: the whole report)

Requests (through the running local service's API)
  pki requests resend ID                                        new approval mails to every approver
                                                                yet to decide; earlier links stop working

API keys (for the local service's REST API; through its API while it runs)
  pki keys create --role ROLE --owner EMAIL [--label TEXT]     print a new key (shown once)
  pki keys list                                                 ids, roles, owners, labels, revocations
  pki keys revoke ID                                            revoke a key by its id
  Roles: ${apiKeyRoles.join(", ")}. The owner is the email address of the person the key acts
  for: the requests it submits are theirs.

Options for every command
  --data-dir DIR    data folder (default $PKI_DATA_DIR, else ./.pki-data)
  --config FILE     configuration (default $PKI_CONFIG, else ./pki.config.json)
  -h, --help        this help

Key specs: ${keySpecs.join(", ")}
Signing algorithms: ${signingAlgorithms.join(", ")}
`;

const options = {
  "data-dir": { type: "string" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
  "key-spec": { type: "string" },
  "signing-algorithm": { type: "string" },
  "kms-key-id": { type: "string" },
  "two-tier": { type: "boolean" },
  "root-key-spec": { type: "string" },
  "root-kms-key-id": { type: "string" },
  subject: { type: "string" },
  csr: { type: "string" },
  profile: { type: "string" },
  days: { type: "string" },
  reason: { type: "string" },
  der: { type: "boolean" },
  root: { type: "boolean" },
  ca: { type: "string" },
  role: { type: "string" },
  owner: { type: "string" },
  label: { type: "string" },
  aws: { type: "boolean" },
  // pki renew (renew.ts)
  cert: { type: "string" },
  key: { type: "string" },
  "reuse-key": { type: "boolean" },
  daemon: { type: "boolean" },
  "out-cert": { type: "string" },
  "out-key": { type: "string" },
  // pki certs list|export (certs.ts)
  status: { type: "string" },
  requester: { type: "string" },
  q: { type: "string" },
  "expires-before": { type: "string" },
  "expires-after": { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  json: { type: "boolean" },
  format: { type: "string" },
  output: { type: "string" },
} as const;

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, sub, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.aws) return aws(command, sub, rest, values, Object.keys(options));
  const dataDir = dataDirPath(values["data-dir"]);
  const readCa = () => new DataFolderCa(dataDir, loadConfig(configPath(values.config)));
  // Commands that change the data folder wait for the local service to be stopped, and keep
  // the folder for its owner only.
  const ca = () => {
    assertNoRuntime(dataDir, `pki ${[command, sub].filter(Boolean).join(" ")}`);
    securePrivateDataFolder(dataDir, { create: false });
    return readCa();
  };
  const signerChoice = (spec?: string, kms?: string): SignerChoice => ({
    ...(spec ? { keySpec: keySpec(spec) } : {}),
    ...(values["signing-algorithm"]
      ? { signingAlgorithm: signingAlgorithm(values["signing-algorithm"]) }
      : {}),
    ...(kms ? { kmsKeyId: kms } : {}),
  });

  switch (command) {
    case "ca":
      switch (sub) {
        case "init": {
          expectArgs(rest, 0, "pki ca init");
          await ca().init({
            issuing: signerChoice(values["key-spec"], values["kms-key-id"]),
            ...(values["two-tier"]
              ? {
                  root: signerChoice(
                    values["root-key-spec"] ?? values["key-spec"],
                    values["root-kms-key-id"],
                  ),
                }
              : {}),
            twoTier: values["two-tier"] ?? false,
            ...(values.subject ? { subject: values.subject } : {}),
          });
          process.stderr.write(`CA created in ${dataDir}\n`);
          process.stdout.write(await readCa().chainPem());
          return 0;
        }
        case "csr":
          expectArgs(rest, 0, "pki ca csr");
          process.stdout.write(
            await ca().csr({
              issuing: signerChoice(values["key-spec"], values["kms-key-id"]),
              ...(values.subject ? { subject: values.subject } : {}),
            }),
          );
          return 0;
        case "import": {
          const [file] = expectArgs(rest, 1, "pki ca import FILE");
          await ca().import(readInput(file!, "utf8"));
          process.stderr.write("CA certificate imported.\n");
          return 0;
        }
        case "show":
          expectArgs(rest, 0, "pki ca show");
          process.stdout.write(await readCa().chainPem());
          return 0;
        default:
          throw new UsageError(
            `unknown command "ca ${sub ?? ""}"; try pki ca init|csr|import|show`,
          );
      }
    case "issue": {
      refuseServiceFolder(dataDir, "pki issue", "submit the CSR to its API (POST /v1/requests)");
      expectArgs(
        [sub, ...rest].filter((x) => x !== undefined),
        0,
        "pki issue --csr FILE --profile NAME",
      );
      if (!values.csr || !values.profile)
        throw new UsageError("pki issue needs --csr FILE and --profile NAME");
      if (values.days !== undefined && !/^[1-9][0-9]{0,5}$/.test(values.days))
        throw new UsageError(`--days must be a positive whole number, not "${values.days}"`);
      const days = values.days === undefined ? undefined : Number(values.days);
      const issued = await ca().issue(readInput(values.csr), values.profile, days);
      process.stderr.write(
        `Issued serial ${issued.serialHex}, valid until ${issued.notAfter.toISOString()}\n`,
      );
      process.stdout.write(issued.pem);
      return 0;
    }
    case "revoke": {
      const [serial] = expectArgs(
        [sub, ...rest].filter((x) => x !== undefined),
        1,
        "pki revoke SERIAL --reason REASON",
      );
      const reason = values.reason;
      if (!reason || !isRevocationReason(reason)) {
        throw new UsageError(
          `--reason must be one of ${Object.keys(revocationReasons).join(", ")}${reason ? `, not "${reason}"` : ""}`,
        );
      }
      const { record, created } = await revoke(dataDir, readCa, serial!, reason);
      process.stdout.write(
        `${created ? "Revoked" : "Already revoked"}: ${record.serial} (${record.reason}) at ${record.revokedAt}\n`,
      );
      if (!created && record.reason !== reason) {
        process.stderr.write(
          `pki: note: the first revocation's reason (${record.reason}) stands; ${reason} was not recorded.\n`,
        );
      }
      return 0;
    }
    case "crl":
      return crl({ dataDir, readCa, changeCa: ca }, sub, rest, values);
    case "keys":
      return keys(dataDir, sub, rest, values);
    case "requests":
      return requests(dataDir, sub, rest, processOutput.stdout);
    case "expiry":
      return expiry(dataDir, sub, rest, values, processOutput.stdout);
    case "renew":
      return renew(
        dataDir,
        [sub, ...rest].filter((x) => x !== undefined),
        values,
      );
    case "certs":
      return certs(sub, rest, values, {
        service: () => runningService(dataDir),
        dataDir,
        stdout: process.stdout,
        stderr: processOutput.stderr,
      });
    case "inspect": {
      const [file] = expectArgs(
        [sub, ...rest].filter((x) => x !== undefined),
        1,
        "pki inspect FILE",
      );
      process.stdout.write(inspect(readInput(file!)));
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/**
 * Revokes through the running service (which republishes the CRL and tells the requester), or
 * in `pki issue`'s file registry for a folder that has no service.
 */
async function revoke(
  dataDir: string,
  readCa: () => DataFolderCa,
  serial: string,
  reason: RevocationReason,
): Promise<{ record: { serial: string; reason: string; revokedAt: string }; created: boolean }> {
  const service = runningService(dataDir);
  if (service) {
    const answer = await service.json<{
      serial: string;
      reason: string;
      revokedAt: string;
      created: boolean;
    }>(
      "POST",
      `/v1/certificates/${encodeURIComponent(serial)}/revoke`,
      { reason },
      // Revoking again returns the first revocation, so a call lost with its connection is resent.
      { idempotent: true },
    );
    return { record: answer, created: answer.created };
  }
  refuseServiceFolder(dataDir, "pki revoke", "start it (npm start) and run pki revoke again");
  assertNoRuntime(dataDir, "pki revoke");
  securePrivateDataFolder(dataDir, { create: false });
  return readCa().revoke(serial, reason);
}

async function keys(
  dataDir: string,
  sub: string | undefined,
  rest: readonly string[],
  values: { readonly role?: string; readonly owner?: string; readonly label?: string },
): Promise<number> {
  // Check the arguments before opening anything.
  switch (sub) {
    case "create":
      expectArgs(
        rest,
        0,
        `pki keys create --role ${apiKeyRoles.join("|")} --owner EMAIL [--label TEXT]`,
      );
      apiKeyRole(values.role);
      apiKeyOwner(values.owner);
      break;
    case "list":
      expectArgs(rest, 0, "pki keys list");
      break;
    case "revoke": {
      const [id] = expectArgs(rest, 1, "pki keys revoke ID");
      if (!API_KEY_ID.test(id!))
        throw new UsageError(
          `"${id}" is not a key id (16 lowercase hex digits; see pki keys list)`,
        );
      break;
    }
    default:
      throw new UsageError(`unknown command "keys ${sub ?? ""}"; try pki keys create|list|revoke`);
  }
  const store = await openKeyStore(dataDir);
  try {
    if (sub === "create") {
      const created = await store.create({
        role: apiKeyRole(values.role),
        owner: apiKeyOwner(values.owner),
        label: values.label ?? "created with pki keys create",
      });
      printCreatedKey(processOutput, created, store.where);
    } else if (sub === "list") {
      const rows = (await store.list()).map((k) => [
        k.id,
        k.role,
        k.owner ?? "-",
        k.createdAt,
        k.revokedAt ?? "-",
        k.label,
      ]);
      process.stdout.write(
        table([["ID", "ROLE", "OWNER", "CREATED", "REVOKED", "LABEL"], ...rows]),
      );
    } else {
      const record = await store.revoke(rest[0]!);
      process.stdout.write(`Key ${record.id} (${record.role}) revoked at ${record.revokedAt}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}

function keySpec(text: string): KeySpec {
  if (!(keySpecs as readonly string[]).includes(text))
    throw new UsageError(`--key-spec must be one of ${keySpecs.join(", ")}, not "${text}"`);
  return text as KeySpec;
}

function signingAlgorithm(text: string): SigningAlgorithm {
  if (!(signingAlgorithms as readonly string[]).includes(text)) {
    throw new UsageError(
      `--signing-algorithm must be one of ${signingAlgorithms.join(", ")}, not "${text}"`,
    );
  }
  return text as SigningAlgorithm;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`pki: ${e.message}\nRun "pki --help" for usage.\n`);
    process.exitCode = 2;
  } else if (isPkiError(e) || e instanceof CaFunctionError) {
    process.stderr.write(`pki: ${e.code}: ${e.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`pki: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
