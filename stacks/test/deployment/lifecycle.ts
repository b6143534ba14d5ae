/**
 * A certificate's whole life on the offline deployment, through every entry point the way
 * clients and AWS reach them: the deploy's CA bootstrap (before it, the public paths); API keys;
 * an automatic and an approved request, a rejected one (its approval mail resent by an admin
 * first), one KMS fails to sign; mails SES fails
 * to send at first; a signing step Step Functions runs twice; a browser signing in and out;
 * downloads; a revocation reaching the CRL through the bus and the queue; the schedule; the
 * operator renewing the CA certificate through the CA function; an event a subscriber refuses,
 * which ends in its failure queue; a request the API stored and never started, which the
 * sweeper's schedule starts; the enforcement sync's schedule bringing the configured gates in
 * step (and again after the renewal); CloudTrail's record of a hand-made change to the bucket,
 * which is drift, and of the sync's own call, which the drift rule leaves out. What it saw is
 * returned for the test to check; the SDK call logs hold what each function asked of AWS
 * meanwhile.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openAuthority } from "../../../packages/core/src/ca/authority.ts";
import {
  createIssuingCertificate,
  createRootCertificate,
} from "../../../packages/core/src/ca/create.ts";
import { parseCsrStructure } from "../../../packages/core/src/csr/parse.ts";
import { decodePemBlocks, encodePem } from "../../../packages/core/src/encoding/pem.ts";
import { generateKey, LocalSigner } from "../../../packages/core/src/signer/local-signer.ts";
import { parseNameText } from "../../../packages/core/src/x509/name.ts";
import { ecCsrFor } from "../../../packages/core/test/support/openssl.ts";
import type { Envelope } from "./event-routing.ts";
import { type ExpiryFacts, remindOfExpiry } from "./expiring-certificate.ts";
import type {
  HttpRequest,
  HttpResponse,
  OfflineDeployment,
  StoredMail,
} from "./offline-deployment.ts";
import { storeStrandedRequest } from "./stranded-request.ts";

/** How a client reaches the API: through the Router, or straight to the function URL. */
export type Http = (path: string, request?: HttpRequest) => Promise<HttpResponse>;

export interface LifecycleFacts {
  /** The public paths before the bootstrap ran. */
  readonly beforeBootstrap: Record<"ca" | "crl" | "crlStatus" | "truststore", HttpResponse>;
  /** How the CRL schedule's run ended before the bootstrap. */
  readonly scheduleBeforeBootstrap: string;
  readonly bootstrap: { first: { status: string }; second: { status: string } };
  readonly issued: { automatic: string; approved: string };
  readonly rejected: { id: string; status: string };
  /** The request KMS refused to sign for. */
  readonly failed: { id: string; status: string };
  /**
   * The request stranded by an API that died before starting its execution: whether it had an
   * execution before the sweep, what the sweep returned, and how its execution ended.
   */
  readonly stranded: {
    id: string;
    executionBefore: boolean;
    sweep: { examined: number; started: string[] };
    execution: { status: string; state: string };
    status: string;
  };
  /** The expiry reminders' schedule on a certificate five days from expiry. */
  readonly expiry: ExpiryFacts;
  /** What the CA function answered the operator. */
  readonly operator: Record<"csr" | "import" | "show", Record<string, unknown>>;
  readonly certificatePem: string;
  readonly caPem: string;
  readonly crlPem: string;
  readonly revokedSerial: string;
  /** A revocation whose certificate.revoked event was never delivered, and the CRL around it. */
  readonly lostEvent: {
    readonly serial: string;
    readonly revoke: HttpResponse;
    readonly crlBeforeSchedule: string;
    readonly crlAfterSchedule: string;
    readonly statusAfterSchedule: Record<string, unknown>;
  };
  readonly published: Record<
    "crl" | "crlStatus" | "crlObject" | "caObject" | "truststore",
    HttpResponse
  >;
  readonly pages: Awaited<ReturnType<typeof browse>>;
  readonly mails: StoredMail[];
  readonly keys: Record<"created" | "listed" | "revoked", HttpResponse>;
  /** The certificate listing and export, as an admin and as the requester. */
  readonly inventory: Record<"all" | "own" | "exported", HttpResponse>;
  /** A certificate renewed by its requester, and its successor, as GET answers them. */
  readonly renewed: Record<"old" | "successor", Record<string, unknown>>;
  /** The CloudTrail events put on the default bus, by event id, and what our bus then carried. */
  readonly drift: {
    readonly byAdmin: string;
    readonly bySync: string;
    readonly announced: Envelope[];
  };
}

const json = (r: HttpResponse) => JSON.parse(r.body) as Record<string, unknown>;

export async function runLifecycle(
  d: OfflineDeployment,
  http: Http,
  work: string,
): Promise<LifecycleFacts> {
  const beforeBootstrap = {
    ca: await http("/v1/ca"),
    crl: await http("/v1/crl"),
    crlStatus: await http("/v1/crl/status"),
    truststore: await http("/truststore.pem"),
  };
  // The schedule before there is a CA (aws.ca.bootstrap "external", before the import).
  const scheduleBeforeBootstrap = await d.runSchedules().then(
    () => "ran",
    (error: Error) => `${error.name}: ${error.message}`,
  );
  const first = await d.invoke<{ status: string }>("CaBootstrap", { mode: "self-signed" });
  const second = await d.invoke<{ status: string }>("CaBootstrap", { mode: "self-signed" });

  // The operator's first admin key, through the CA function (pki keys create --aws).
  const created = await d.invoke<{ key?: string; error?: unknown }>("CaBootstrap", {
    action: "create-api-key",
    role: "admin",
    owner: "ops@example.com",
    label: "conformance admin",
  });
  if (!created.key) throw new Error(`no admin key: ${JSON.stringify(created.error)}`);
  const adminKey = created.key;
  const admin = { authorization: `Bearer ${adminKey}` };
  const keys = {
    created: await http("/v1/keys", {
      method: "POST",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify({ role: "requester", owner: "ci@example.com", label: "ci" }),
    }),
    listed: await http("/v1/keys", { headers: admin }),
  };
  const requesterKey = String(json(keys.created).key);
  const spare = json(
    await http("/v1/keys", {
      method: "POST",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify({ role: "requester", owner: "ci@example.com", label: "spare" }),
    }),
  );
  const revokedKey = await http(`/v1/keys/${String(spare.id)}`, {
    method: "DELETE",
    headers: admin,
  });

  const submit = async (profile: string, name: string) => {
    const res = await http("/v1/requests", {
      method: "POST",
      query: `email=dev%40example.com&profile=${profile}`,
      headers: {
        authorization: `Bearer ${requesterKey}`,
        "content-type": "application/pkcs10",
      },
      body: new Uint8Array(ecCsrFor(work, name, "DER")),
    });
    if (res.status !== 202) throw new Error(`submit ${profile}: ${res.status} ${res.body}`);
    return String(json(res).id);
  };
  const finished = async (id: string) => {
    const outcome = await d.workflow.engine.waitForExecution(id);
    await d.settled();
    return outcome;
  };
  /** The approval link's token in the `nth` approval mail about `id` (the first by default). */
  const approvalToken = async (id: string, nth = 1) => {
    for (let i = 0; i < 200; i++) {
      const mail = (await d.mails()).filter((m) => m.body.text.includes(`/approvals/${id}?token=`))[
        nth - 1
      ];
      if (mail) return /\?token=([A-Za-z0-9_-]{43})/.exec(mail.body.text)![1]!;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no approval mail ${nth} for ${id}`);
  };

  const automatic = await submit("client", "auto.example.internal");
  await finished(automatic);
  // An API function died between storing a request and starting its execution: the sweeper's
  // schedule starts it.
  const strandedId = await storeStrandedRequest(d, work, "client", "stranded.example.internal");
  const executionBefore = d.workflow.engine.describeExecution(strandedId) !== undefined;
  const sweep = await d.runSchedule<{ examined: number; started: string[] }>("RequestSweeper");
  const strandedRun = await finished(strandedId);
  const expiry = await remindOfExpiry(d, strandedId, "7e57e0e0e0e0e0e0");
  // A disabled key: the request fails, its signing claim is released, the failure recorded.
  d.kms.failNextSign("KMSInvalidStateException");
  const doomed = await submit("client", "doomed.example.internal");
  await finished(doomed);
  // SES down for the approver's and the requester's first mails: both are sent once it is back.
  d.ses.failNextSendTo("security@example.com");
  d.ses.failNextSendTo("dev@example.com");
  // Step Functions retries SignCertificate after losing its response: signed once all the same.
  d.workflow.invokedTwice.add("SignCertificate");
  const approved = await submit("server", "approved.example.internal");
  const decided = await http(`/v1/approvals/${approved}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ decision: "approve", token: await approvalToken(approved) }),
  });
  if (decided.status !== 200) throw new Error(`approve: ${decided.status} ${decided.body}`);
  await finished(approved);
  d.workflow.invokedTwice.clear();
  const rejectedId = await submit("server", "rejected.example.internal");
  // An admin resends its approval mail (the API mails it): the new link decides, the old is void.
  const firstToken = await approvalToken(rejectedId);
  const resent = await http(`/v1/requests/${rejectedId}/approval-mails`, {
    method: "POST",
    headers: admin,
  });
  if (resent.status !== 200) throw new Error(`resend: ${resent.status} ${resent.body}`);
  const reject = (token: string) =>
    http(`/v1/approvals/${rejectedId}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ decision: "reject", token, reason: "not ours" }),
    });
  const voided = await reject(firstToken);
  if (voided.status !== 403) throw new Error(`the replaced link: ${voided.status} ${voided.body}`);
  await reject(await approvalToken(rejectedId, 2));
  await finished(rejectedId);
  const view = (id: string) => http(`/v1/requests/${id}`, { headers: admin }).then(json);
  const approvedView = await view(approved);
  const serial = String(approvedView.serial);

  const certificatePem = (await http(`/v1/certificates/${serial}`, { headers: admin })).body;
  await http(`/v1/certificates/${serial}`, {
    headers: { ...admin, accept: "application/pkix-cert" },
  });
  await http(`/v1/certificates/${serial}`, {
    headers: { ...admin, accept: "application/pem-certificate-chain" },
  });
  const caPem = (await http("/v1/ca")).body;
  const requester = { authorization: `Bearer ${requesterKey}` };
  const inventory = {
    // Everyone's, from the index; a requester's own, from their views and the records named.
    all: await http("/v1/certificates", { query: "status=valid", headers: admin }),
    own: await http("/v1/certificates", { headers: requester }),
    exported: await http("/v1/certificates/export", { query: "format=jsonl", headers: requester }),
  };

  // A renewal by its requester, under the client profile's inherited approval.
  const renewable = await submit("client", "renewable.example.internal");
  await finished(renewable);
  const renewedSerial = String((await view(renewable)).serial);
  const renewal = await http(`/v1/certificates/${renewedSerial}/renew`, {
    method: "POST",
    headers: { ...requester, "content-type": "application/json" },
    body: JSON.stringify({ csr: ecCsrFor(work, "renewable.example.internal").toString() }),
  });
  if (renewal.status !== 202) throw new Error(`renew: ${renewal.status} ${renewal.body}`);
  await finished(String(json(renewal).id));
  const certificateJson = async (s: string) =>
    json(
      await http(`/v1/certificates/${s}`, {
        headers: { ...requester, accept: "application/json" },
      }),
    );
  const renewedView = await certificateJson(renewedSerial);
  const renewed = {
    old: renewedView,
    successor: await certificateJson(String(renewedView.renewedBy)),
  };

  const pages = await browse(http, adminKey, approved);

  // A revocation whose event is lost on its way to the CRL queue: the revocation record is the
  // outbox, and the schedule's next look publishes it.
  const lostSerial = String((await view(automatic)).serial);
  d.events.lost.add("certificate.revoked");
  const lostRevoke = await http(`/v1/certificates/${lostSerial}/revoke`, {
    method: "POST",
    headers: { ...admin, "content-type": "application/json" },
    body: JSON.stringify({ reason: "superseded" }),
  });
  await d.settled();
  d.events.lost.clear();
  const pemCrl = () => http("/v1/crl", { headers: { accept: "application/x-pem-file" } });
  const beforeSchedule = (await pemCrl()).body;
  await d.runSchedule("CrlPublisher");
  const lostEvent = {
    serial: lostSerial,
    revoke: lostRevoke,
    crlBeforeSchedule: beforeSchedule,
    crlAfterSchedule: (await pemCrl()).body,
    statusAfterSchedule: json(await http("/v1/crl/status")),
  };

  const revoked = await http(`/v1/certificates/${serial}/revoke`, {
    method: "POST",
    headers: { ...admin, "content-type": "application/json" },
    body: JSON.stringify({ reason: "keyCompromise" }),
  });
  if (revoked.status !== 200) throw new Error(`revoke: ${revoked.status} ${revoked.body}`);
  await d.settled();
  await d.runSchedules();
  const operator = await renewCa(d);
  // Once the CRL is due (crl.refreshHours in the conformance configuration), the schedule
  // republishes it with the renewed CA certificate and trust store.
  await new Promise((r) => setTimeout(r, 2_500));
  await d.runSchedules();
  // The enforcement sync's next minute: the gates follow the renewed bundle and the new CRL
  // (its schedule may have fired before the CRL schedule's just now).
  if (d.deployment.functions().some((f) => f.name === "EnforcementSync")) {
    await d.runSchedule("EnforcementSync");
  }
  const status = json(await http("/v1/crl/status"));
  const caId = String(status.caId ?? "");
  const published = {
    crl: await http("/v1/crl", { headers: { accept: "application/x-pem-file" } }),
    crlStatus: await http("/v1/crl/status"),
    crlObject: await http(`/crl/${caId}.crl`),
    caObject: await http(`/ca/${caId}.cer`),
    truststore: await http("/truststore.pem"),
  };

  const drift = cloudTrailCalls(d);
  await d.settled();

  // An event of ours that the subscribers refuse: retried, then kept in their failure queue.
  d.events.publishForTest({
    Source: "serverless-private-ca",
    DetailType: "certificate.issued",
    Detail: JSON.stringify({ id: "broken", data: { requestId: 5 } }),
  });
  await d.settled();

  return {
    beforeBootstrap,
    scheduleBeforeBootstrap,
    bootstrap: { first, second },
    issued: { automatic, approved },
    rejected: { id: rejectedId, status: String((await view(rejectedId)).status) },
    failed: { id: doomed, status: String((await view(doomed)).status) },
    stranded: {
      id: strandedId,
      executionBefore,
      sweep,
      execution: { status: strandedRun.status, state: strandedRun.state },
      status: String((await view(strandedId)).status),
    },
    expiry,
    operator,
    certificatePem,
    caPem,
    crlPem: published.crl.body,
    revokedSerial: serial,
    lostEvent,
    published,
    pages,
    mails: await d.mails(),
    keys: { ...keys, revoked: revokedKey },
    inventory,
    renewed,
    drift: {
      ...drift,
      announced: d.events.published.filter((e) => e["detail-type"] === "enforcement.drift"),
    },
  };
}

/**
 * What CloudTrail puts on the default bus: an administrator's hand-made PutBucketPolicy on the
 * publication bucket, and the sync's own ModifyTrustStore (when it is deployed).
 */
function cloudTrailCalls(d: OfflineDeployment) {
  const bucket = d.deployment.fn("Api").environment.PKI_BUCKET!;
  const account = d.deployment.account;
  const sync = d.deployment.functions().find((f) => f.name === "EnforcementSync");
  const call = (
    id: string,
    source: string,
    eventName: string,
    role: string,
    requestParameters: Record<string, unknown>,
  ) =>
    d.events.publishForTest({
      EventBusName: "default",
      Source: source,
      DetailType: "AWS API Call via CloudTrail",
      Detail: JSON.stringify({
        eventVersion: "1.09",
        userIdentity: {
          type: "AssumedRole",
          arn: `arn:aws:sts::${account}:assumed-role/${role.split("/").at(-1)}/session`,
          sessionContext: { sessionIssuer: { type: "Role", arn: role } },
        },
        eventTime: new Date().toISOString(),
        eventSource: `${source.slice(4)}.amazonaws.com`,
        eventName,
        requestParameters,
        responseElements: null,
        eventID: id,
        eventType: "AwsApiCall",
      }),
    });
  const byAdmin = "cloudtrail-admin-put-bucket-policy";
  const bySync = "cloudtrail-sync-modify-trust-store";
  call(byAdmin, "aws.s3", "PutBucketPolicy", `arn:aws:iam::${account}:role/Admin`, {
    bucketName: bucket,
  });
  if (sync) {
    const [trustStore] = JSON.parse(readFileSync(join(sync.bundleDir, "pki.config.json"), "utf8"))
      .enforcement.albTrustStores as string[];
    call(bySync, "aws.elasticloadbalancing", "ModifyTrustStore", sync.role.arn, {
      trustStoreArn: trustStore,
    });
  }
  return { byAdmin, bySync };
}

/**
 * The operator renews the CA certificate with an offline root, through the CA function only
 * (`pki ca csr|import|show --aws`): a CSR for the KMS key, signed by the root, imported.
 */
async function renewCa(d: OfflineDeployment) {
  const csr = await d.invoke<Record<string, unknown>>("CaBootstrap", { action: "csr" });
  const rootSigner = new LocalSigner(generateKey("ECC_NIST_P384").privateKey, "offline root");
  const rootDer = await createRootCertificate(rootSigner, {
    subject: parseNameText("CN=Offline Root, O=Example"),
    validityDays: 3650,
  });
  const root = await openAuthority(rootDer, [], rootSigner, "https://root.example.com");
  const spki = parseCsrStructure(decodePemBlocks(String(csr.csr))[0]!.der).spki;
  const issuing = await createIssuingCertificate(root, spki, {
    subject: parseNameText(deployedConfig(d).ca.subject),
    validityDays: 1825,
  });
  const chain = encodePem("CERTIFICATE", issuing) + encodePem("CERTIFICATE", rootDer);
  const imported = await d.invoke<Record<string, unknown>>("CaBootstrap", {
    action: "import",
    chain,
  });
  const show = await d.invoke<Record<string, unknown>>("CaBootstrap", { action: "show" });
  return { csr, import: imported, show };
}

/** The configuration the stack bundled with the functions. */
function deployedConfig(d: OfflineDeployment): { ca: { subject: string } } {
  const dir = d.deployment.fn("CaBootstrap").bundleDir;
  return JSON.parse(readFileSync(join(dir, "pki.config.json"), "utf8"));
}

/** A browser: sign in with the admin key, look around, sign out. Cookies kept by name. */
async function browse(http: Http, adminKey: string, requestId: string) {
  const jar = new Map<string, string>();
  const go = async (path: string, request: HttpRequest = {}) => {
    const res = await http(path, {
      ...request,
      headers: {
        accept: "text/html",
        "sec-fetch-site": "same-origin",
        ...request.headers,
        ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } : {}),
      },
    });
    for (const cookie of res.cookies) {
      const [pair] = cookie.split(";");
      const eq = pair!.indexOf("=");
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return res;
  };
  const form = (fields: Record<string, string>): HttpRequest => ({
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
  const signInPage = await go("/sign-in");
  const csrf = /name="csrf" value="([^"]+)"/.exec(signInPage.body)?.[1] ?? "";
  const signIn = await go("/sign-in", form({ csrf, key: adminKey }));
  const operators = await go("/operators");
  const certificates = await go("/operators/certificates");
  const request = await go(`/requests/${requestId}`);
  const signOut = await go("/sign-out", form({ csrf }));
  const afterSignOut = await go("/operators");
  return { signInPage, signIn, operators, certificates, request, signOut, afterSignOut };
}
