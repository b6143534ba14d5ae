/**
 * `pki ca csr|import|show --aws`: the CA as deployed to AWS, for an offline root
 * (`aws.ca.bootstrap: "external"`). The operator runs them through `npx sst shell`, which puts
 * the app's linked resources in the environment: SST_RESOURCE_Pki (stacks/index.ts) names the
 * private bucket holding ca/issuing-chain.pem and the CA's KMS key. Nothing here reads or
 * writes a local data folder; the operator's own AWS credentials do the work.
 */
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { caSummary, importCaChain, isChainOfKey } from "@spca/core/ca/bootstrap";
import { createCaCsr } from "@spca/core/ca/create";
import { CA_CHAIN_OBJECT_KEY, readCaChain } from "@spca/core/ca/object-store-ca";
import { encodePem } from "@spca/core/encoding/pem";
import { isPkiError, PkiError } from "@spca/core/errors";
import { signingAlgorithms } from "@spca/core/signer/algorithms";
import { createKmsSigner, type KmsSigner } from "@spca/core/signer/kms-signer";
import type { ObjectStore, StoredObject } from "@spca/core/store/object-store";
import { S3ObjectStore } from "@spca/core/store/s3-object-store";
import { issueMessages } from "@spca/core/validation";
import type { NameEntry } from "@spca/core/x509/name";
import * as v from "valibot";

/** The variable `sst shell` sets for the stacks' `sst.Linkable("Pki", …)`. */
export const PKI_RESOURCE_VARIABLE = "SST_RESOURCE_Pki";

/** How to run an --aws command (csr, import, show), for the error messages. */
export function howToRun(sub: string): string {
  return `npx sst shell --stage <stage> -- npx pki ca ${sub === "import" ? "import FILE" : sub} --aws`;
}

/**
 * The fields of SST_RESOURCE_Pki the CLI reads; the others (table, eventBus, publicBaseUrl,
 * SST's "type") are ignored.
 */
const PkiResourceSchema = v.object({
  bucket: v.pipe(v.string(), v.nonEmpty("must be the private bucket's name")),
  caKeyArn: v.pipe(
    v.string(),
    v.regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/\S+$/, "must be a KMS key ARN"),
  ),
  signingAlgorithm: v.nullish(v.picklist(signingAlgorithms)),
  region: v.nullish(v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, "must be an AWS Region name"))),
});

export type PkiResource = v.InferOutput<typeof PkiResourceSchema>;

export type Environment = Readonly<Record<string, string | undefined>>;

/** SST_RESOURCE_Pki, checked. `sub` (csr, import, show) goes into the error messages. */
export function pkiResourceFromEnvironment(env: Environment, sub: string): PkiResource {
  const text = env[PKI_RESOURCE_VARIABLE];
  const run = `Run it through SST, which links the deployed CA: ${howToRun(sub)}`;
  if (!text) {
    throw new PkiError("AWS_TARGET_MISSING", `${PKI_RESOURCE_VARIABLE} is not set. ${run}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PkiError(
      "AWS_TARGET_INVALID",
      `${PKI_RESOURCE_VARIABLE} is not JSON (${(e as Error).message}). ${run}`,
    );
  }
  const result = v.safeParse(PkiResourceSchema, json);
  if (!result.success) {
    throw new PkiError(
      "AWS_TARGET_INVALID",
      `${PKI_RESOURCE_VARIABLE}: ${issueMessages(result.issues).join("; ")}. Deploy the current stacks (they link "Pki"), then: ${howToRun(sub)}`,
    );
  }
  return result.output;
}

/** SDK clients; tests hand in clients pointed at stand-ins. */
export interface AwsTargetClients {
  readonly s3: () => S3Client;
  readonly kms: () => KMSClient;
}

/**
 * The deployed CA: its bucket and (opened on first use) its KMS key. `close()` releases the
 * clients it built itself.
 */
export class AwsTarget {
  readonly resource: PkiResource;
  readonly objects: ObjectStore;
  private readonly kmsClient: () => KMSClient;
  private readonly built: { destroy(): void }[] = [];
  private signerPromise: Promise<KmsSigner> | undefined;

  constructor(resource: PkiResource, clients: Partial<AwsTargetClients> = {}) {
    this.resource = resource;
    const region = resource.region ? { region: resource.region } : {};
    const s3 = clients.s3?.() ?? this.own(new S3Client(region));
    this.objects = new DescribedErrors(
      new S3ObjectStore(s3, resource.bucket),
      `s3://${resource.bucket}`,
    );
    this.kmsClient =
      clients.kms ??
      // The signer retries with its own backoff; the SDK's retries would multiply its attempts.
      (() => this.own(new KMSClient({ ...region, maxAttempts: 1 })));
  }

  /** The CA key in KMS, checked (SIGN_VERIFY, a supported spec and algorithm). */
  signer(): Promise<KmsSigner> {
    this.signerPromise ??= createKmsSigner({
      keyId: this.resource.caKeyArn,
      client: this.kmsClient(),
      ...(this.resource.signingAlgorithm
        ? { signingAlgorithm: this.resource.signingAlgorithm }
        : {}),
    });
    return this.signerPromise;
  }

  where(key: string): string {
    return `s3://${this.resource.bucket}/${key}`;
  }

  close(): void {
    for (const client of this.built.splice(0)) client.destroy();
  }

  private own<T extends { destroy(): void }>(client: T): T {
    this.built.push(client);
    return client;
  }
}

/** Object-store failures name the bucket and key (SDK messages such as "Access Denied" do not). */
class DescribedErrors implements ObjectStore {
  private readonly inner: ObjectStore;
  private readonly where: string;

  constructor(inner: ObjectStore, where: string) {
    this.inner = inner;
    this.where = where;
  }

  put(key: string, body: Uint8Array | string, contentType: string): Promise<void> {
    return this.inner.put(key, body, contentType).catch(this.describe("writing", key));
  }

  get(key: string): Promise<StoredObject | undefined> {
    return this.inner.get(key).catch(this.describe("reading", key));
  }

  private describe(what: string, key: string) {
    return (error: unknown): never => {
      if (isPkiError(error)) throw error;
      const e = error as Error;
      // TransientError messages already name the service and the error.
      const why = e.name === "Error" || e.name === "TransientError" ? "" : `${e.name}: `;
      throw new Error(`S3: ${what} ${this.where}/${key} failed: ${why}${e.message}`, {
        cause: error,
      });
    };
  }
}

/** What the bucket holds under ca/issuing-chain.pem, if anything. */
type Installed =
  | { readonly kind: "none" }
  | { readonly kind: "unknown"; readonly why: string }
  | { readonly kind: "unreadable" }
  | { readonly kind: "chain"; readonly chain: Uint8Array[] };

async function installed(objects: ObjectStore): Promise<Installed> {
  try {
    const chain = await readCaChain(objects);
    return chain ? { kind: "chain", chain } : { kind: "none" };
  } catch (error) {
    if (isPkiError(error, "CA_NOT_INITIALISED")) return { kind: "unreadable" };
    // The note is a courtesy: a caller who may not read the bucket still gets the CSR.
    return { kind: "unknown", why: (error as Error).message };
  }
}

export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

export type AwsCaCommand =
  | { readonly sub: "csr"; readonly subject: readonly NameEntry[] }
  | { readonly sub: "import"; readonly pem: string; readonly now?: Date }
  | { readonly sub: "show" };

export interface AwsCaRun {
  /** From pkiResourceFromEnvironment. */
  readonly resource: PkiResource;
  readonly clients?: Partial<AwsTargetClients>;
  readonly out: Output;
}

/** Runs one `pki ca … --aws` command against the deployment SST_RESOURCE_Pki names. */
export async function runAwsCaCommand(command: AwsCaCommand, run: AwsCaRun): Promise<void> {
  const target = new AwsTarget(run.resource, run.clients);
  try {
    switch (command.sub) {
      case "csr":
        return await csr(target, command.subject, run.out);
      case "import":
        return await importChain(target, command.pem, run.out, command.now);
      case "show":
        run.out.stdout(await chainPem(target));
        return;
    }
  } finally {
    target.close();
  }
}

/** A CSR for the KMS key; a note on stderr when the bucket already holds a certificate. */
async function csr(target: AwsTarget, subject: readonly NameEntry[], out: Output): Promise<void> {
  const signer = await target.signer();
  const request = encodePem("CERTIFICATE REQUEST", await createCaCsr(signer, subject));
  const current = await installed(target.objects);
  const where = target.where(CA_CHAIN_OBJECT_KEY);
  if (current.kind === "unknown") {
    out.stderr(`pki: note: could not check for an installed certificate: ${current.why}\n`);
  } else if (current.kind === "chain") {
    const ca = caSummary(current.chain);
    out.stderr(
      (await isChainOfKey(current.chain, signer))
        ? `pki: note: ${where} already holds a certificate for this key (${ca.subject}, serial ${ca.serial}, valid until ${ca.notAfter}); importing a new one replaces it (a renewal).\n`
        : `pki: note: ${where} holds the certificate of another key (${ca.subject}, serial ${ca.serial}); pki ca import --aws will not replace it until it is moved away deliberately.\n`,
    );
  } else if (current.kind === "unreadable") {
    out.stderr(
      `pki: note: ${where} exists but is not a PEM certificate chain; pki ca import --aws will replace it (earlier versions stay in the bucket's version history).\n`,
    );
  }
  out.stdout(request);
}

/**
 * Validates the bundle against the KMS key and installs it (importCaChain, which also keeps a
 * chain of another key already in the bucket, as the CA bootstrap keeps it).
 */
async function importChain(target: AwsTarget, pem: string, out: Output, now?: Date): Promise<void> {
  const signer = await target.signer();
  const where = target.where(CA_CHAIN_OBJECT_KEY);
  const summary = await importCaChain(target.objects, signer, pem, now);
  const chain = await chainPem(target);
  out.stderr(
    `CA certificate imported into ${where}: ${summary.subject}, serial ${summary.serial}, valid until ${summary.notAfter}, ${summary.chainLength} certificate${summary.chainLength === 1 ? "" : "s"} above it.\n` +
      "The CRL publisher's schedule (at most an hour apart) publishes the CRL, the CA certificate and truststore.pem.\n",
  );
  out.stdout(chain);
}

async function chainPem(target: AwsTarget): Promise<string> {
  const object = await target.objects.get(CA_CHAIN_OBJECT_KEY);
  if (!object) {
    throw new PkiError(
      "CA_NOT_INITIALISED",
      `${target.where(CA_CHAIN_OBJECT_KEY)} does not exist: the deploy's CA bootstrap has not run, or (aws.ca.bootstrap "external") the CA awaits its certificate: ${howToRun("csr")}, have the root sign it, then ${howToRun("import")}.`,
    );
  }
  return Buffer.from(object.body).toString("utf8");
}
