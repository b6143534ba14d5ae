/**
 * The gates the enforcement sync keeps in step, offline, each speaking its service's real
 * protocol so the bundle's SDK clients serialise and parse as on AWS: Elastic Load Balancing
 * (awsQuery: a form POST, an XML answer) for trust stores, API Gateway (REST JSON) for custom
 * domains, IAM Roles Anywhere (REST JSON) for CRLs. One server answers all three; what each
 * gate was given is kept for the test. Nothing is authorized here: the SDK call log is.
 *
 * And the bucket as a versioned one: a proxy in front of s3rver (which keeps no versions) that
 * answers each object with a version id derived from its ETag, so the gates can be pointed at
 * exact versions as on AWS.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { listenLocally } from "./json-service.ts";

export interface GateState {
  /** Per trust store: its bundle (`bucket/key@version`) and revocation lists by id. */
  readonly trustStores: Map<string, { bundle?: string; lists: Map<number, string> }>;
  /** Per custom domain: its truststore URI and version. */
  readonly domains: Map<string, { uri?: string; version?: string }>;
  /** IAM Roles Anywhere CRLs by id. */
  readonly crls: Map<string, { name: string; trustAnchorArn: string; tags: unknown; pem: string }>;
}

export interface Listening {
  readonly endpoint: string;
  close(): Promise<void>;
}

const listen = (server: Server): Promise<Listening> => listenLocally(server);

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });

export async function startGateStandIns(): Promise<Listening & { readonly state: GateState }> {
  const state: GateState = { trustStores: new Map(), domains: new Map(), crls: new Map() };
  let revocationIds = 0;
  const server = createServer(async (req, res) => {
    const text = await body(req);
    const url = new URL(req.url ?? "/", "http://stand-in");
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (req.method === "POST" && url.pathname === "/" && text.includes("Action=")) {
      const form = new URLSearchParams(text);
      const xml = elb(form, state, () => ++revocationIds);
      res.writeHead(xml.status, { "content-type": "text/xml" });
      res.end(xml.body);
      return;
    }
    const domain = /^\/domainnames\/([^/]+)$/.exec(url.pathname);
    if (domain && req.method === "PATCH") {
      const name = decodeURIComponent(domain[1]!);
      const held = state.domains.get(name) ?? {};
      for (const op of (JSON.parse(text) as { patchOperations: { path: string; value: string }[] })
        .patchOperations) {
        if (op.path === "/mutualTlsAuthentication/truststoreUri") held.uri = op.value;
        if (op.path === "/mutualTlsAuthentication/truststoreVersion") held.version = op.value;
      }
      state.domains.set(name, held);
      json(200, {
        domainName: name,
        mutualTlsAuthentication: {
          truststoreUri: held.uri,
          truststoreVersion: held.version,
          truststoreWarnings: [],
        },
      });
      return;
    }
    const crlDetail = (crlId: string) => {
      const crl = state.crls.get(crlId)!;
      return {
        crlId,
        crlArn: `arn:aws:rolesanywhere:eu-west-1:123456789012:crl/${crlId}`,
        name: crl.name,
        trustAnchorArn: crl.trustAnchorArn,
        enabled: true,
      };
    };
    if (url.pathname === "/crls" && req.method === "GET") {
      json(200, { crls: [...state.crls.keys()].map(crlDetail) });
      return;
    }
    if (url.pathname === "/crls" && req.method === "POST") {
      const input = JSON.parse(text) as Record<string, unknown>;
      const crlId = randomUUID();
      state.crls.set(crlId, {
        name: String(input.name),
        trustAnchorArn: String(input.trustAnchorArn),
        tags: input.tags,
        pem: Buffer.from(String(input.crlData), "base64").toString("utf8"),
      });
      json(201, { crl: crlDetail(crlId) });
      return;
    }
    const crl = /^\/crl\/([^/]+)$/.exec(url.pathname);
    if (crl && req.method === "PATCH" && state.crls.has(crl[1]!)) {
      const input = JSON.parse(text) as Record<string, unknown>;
      state.crls.get(crl[1]!)!.pem = Buffer.from(String(input.crlData), "base64").toString("utf8");
      json(200, { crl: crlDetail(crl[1]!) });
      return;
    }
    json(404, { message: `no stand-in for ${req.method} ${url.pathname}` });
  });
  return { ...(await listen(server)), state };
}

/** Elastic Load Balancing's trust-store operations, answered as its awsQuery XML. */
function elb(
  form: URLSearchParams,
  state: GateState,
  nextId: () => number,
): { status: number; body: string } {
  const action = form.get("Action") ?? "";
  const arn = form.get("TrustStoreArn") ?? "";
  const store = state.trustStores.get(arn) ?? { lists: new Map<number, string>() };
  state.trustStores.set(arn, store);
  const ok = (result: string) => ({
    status: 200,
    body:
      `<${action}Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">` +
      `<${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  });
  const member = (id: number) =>
    `<member><TrustStoreArn>${arn}</TrustStoreArn><RevocationId>${id}</RevocationId>` +
    "<RevocationType>CRL</RevocationType><NumberOfRevokedEntries>1</NumberOfRevokedEntries></member>";
  switch (action) {
    case "ModifyTrustStore":
      store.bundle = `${form.get("CaCertificatesBundleS3Bucket")}/${form.get("CaCertificatesBundleS3Key")}@${form.get("CaCertificatesBundleS3ObjectVersion")}`;
      return ok("<TrustStores/>");
    case "DescribeTrustStoreRevocations":
      return ok(
        `<TrustStoreRevocations>${[...store.lists.keys()].map(member).join("")}</TrustStoreRevocations>`,
      );
    case "AddTrustStoreRevocations": {
      const id = nextId();
      const p = "RevocationContents.member.1.";
      store.lists.set(
        id,
        `${form.get(`${p}S3Bucket`)}/${form.get(`${p}S3Key`)}@${form.get(`${p}S3ObjectVersion`)}`,
      );
      return ok(`<TrustStoreRevocations>${member(id)}</TrustStoreRevocations>`);
    }
    case "RemoveTrustStoreRevocations":
      for (const [key, value] of form) {
        if (key.startsWith("RevocationIds.member.")) store.lists.delete(Number(value));
      }
      return ok("");
    default:
      return {
        status: 400,
        body: `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>no stand-in for ${action}</Message></Error></ErrorResponse>`,
      };
  }
}

/**
 * s3rver behind a proxy that adds `x-amz-version-id` to object reads and writes: the ETag's
 * digest, so a changed object has a new version and an unchanged one keeps its own.
 */
export async function startVersioningProxy(s3Endpoint: string): Promise<Listening> {
  const upstream = new URL(s3Endpoint);
  const server = createServer((req, res) => {
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        // The Host header is forwarded as signed: s3rver checks the signature with it.
        headers: req.headers,
      },
      (answer) => {
        const headers = { ...answer.headers };
        const etag = String(answer.headers.etag ?? "").replaceAll('"', "");
        const objectPath = /^\/[^/?]+\/[^?]+/.test(req.url ?? "");
        if (etag && objectPath && (answer.statusCode ?? 500) < 300) {
          headers["x-amz-version-id"] = `v-${etag}`;
        }
        res.writeHead(answer.statusCode ?? 500, headers);
        answer.pipe(res);
      },
    );
    forward.on("error", (error) => {
      res.writeHead(502);
      res.end(error.message);
    });
    req.pipe(forward);
  });
  return listen(server);
}
