/**
 * The Router (CloudFront) as the synthesis configures it, offline, for requests from clients:
 * 1. SST's viewer-request CloudFront Function, the very code the synthesis would upload (our
 *    injection included), run on the route table its KeyValueStore would hold;
 * 2. the origin it picks: the API's function URL or the bucket;
 * 3. for the function URL: the Lambda@Edge origin-request function SST deploys (the body hash),
 *    origin access control's signature in place of the viewer's Authorization, Lambda's check of
 *    the function URL's auth type and the function's resource policy for this distribution;
 *    for the bucket: OAC's GetObject, allowed or not by the bucket policy (a missing key is 404
 *    only if ListBucket is allowed too, as S3 answers).
 * Every authorization CloudFront needs is recorded as a service call and decided by IAM rules
 * (authorization.ts), so a refused one fails the request here as it would on AWS.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { GetObjectCommand, NoSuchKey, type S3Client } from "@aws-sdk/client-s3";
import type { Authorizer } from "./authorization.ts";
import type { HttpRequest, HttpResponse, OfflineDeployment } from "./offline-deployment.ts";
import type { ServiceCall } from "./service-calls.ts";

type Headers = Record<string, { value: string }>;
interface ViewerRequest {
  method: string;
  uri: string;
  querystring: Record<string, { value: string }>;
  headers: Headers;
  cookies: Record<string, { value: string }>;
}
interface Origin {
  domainName: string;
  originAccessControlConfig?: { enabled: boolean };
}

export interface RouterRequest extends HttpRequest {
  /** The Host the client asked (default the distribution's CloudFront name). */
  readonly host?: string;
  /** The client's address, as CloudFront sees it. */
  readonly viewerIp?: string;
}

export class OfflineRouter {
  private readonly offline: OfflineDeployment;
  private readonly authorizer: Authorizer;
  private readonly s3: S3Client;
  private readonly kv = new Map<string, string>();
  /** Which origin answered the last request: the API's function URL or the bucket. */
  lastOrigin: "function" | "bucket" | undefined;
  private handler: ((event: unknown) => Promise<unknown>) | undefined;
  private edgeSigner: ((event: unknown) => Promise<unknown>) | undefined;
  /** The function URL's host, SST's route metadata names it. */
  private origin: Origin | undefined;

  constructor(offline: OfflineDeployment, authorizer: Authorizer, s3: S3Client) {
    this.offline = offline;
    this.authorizer = authorizer;
    this.s3 = s3;
  }

  private get d() {
    return this.offline.deployment;
  }

  get distribution(): { arn: string; domainName: string } {
    const [cdn] = this.d.byType("aws:cloudfront/distribution:Distribution");
    return { arn: String(cdn!.outputs.arn), domainName: String(cdn!.outputs.domainName) };
  }

  async start(platform: string): Promise<void> {
    // The KeyValueStore as the route resources write it.
    for (const keys of this.d.synthesis.resources.filter((r) =>
      r.name.endsWith(".sst.aws.KvKeys"),
    )) {
      for (const [key, value] of Object.entries(keys.inputs.entries as Record<string, string>)) {
        this.kv.set(`${keys.inputs.namespace}:${key}`, value);
      }
    }
    const routes = new Map<string, string[]>();
    for (const update of this.d.synthesis.resources.filter((r) =>
      r.name.endsWith(".sst.aws.KvRoutesUpdate"),
    )) {
      const key = `${update.inputs.namespace}:${update.inputs.key}`;
      routes.set(key, [...(routes.get(key) ?? []), String(update.inputs.entry)]);
    }
    for (const [key, entries] of routes) this.kv.set(key, JSON.stringify(entries));

    const [fn] = this.d.byType("aws:cloudfront/function:Function");
    const code = String(fn!.inputs.code).replace(/^\s*import cf from "cloudfront";/m, "");
    const cf = {
      kvs: () => ({
        get: async (key: string) => {
          const value = this.kv.get(key);
          if (value === undefined) throw new Error(`KVS: no key ${key}`);
          return value;
        },
      }),
      updateRequestOrigin: (origin: Origin) => {
        this.origin = origin;
      },
    };
    this.handler = new Function("cf", `${code}\nreturn handler;`)(cf) as typeof this.handler;
    const signer = (await import(
      pathToFileURL(join(platform, "dist", "oac-edge-signer", "index.mjs")).href
    )) as { handler: (event: unknown) => Promise<unknown> };
    this.edgeSigner = signer.handler;
  }

  /** A client's request to https://<host><path>. */
  async fetch(path: string, request: RouterRequest = {}): Promise<HttpResponse> {
    const headers: Headers = { host: { value: request.host ?? this.distribution.domainName } };
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      if (name !== "cookie") headers[name.toLowerCase()] = { value };
    }
    const cookies: Record<string, { value: string }> = {};
    for (const pair of (request.headers?.cookie ?? "").split(/;\s*/).filter(Boolean)) {
      const eq = pair.indexOf("=");
      cookies[pair.slice(0, eq)] = { value: pair.slice(eq + 1) };
    }
    const viewer: ViewerRequest = {
      method: request.method ?? "GET",
      uri: path,
      querystring: Object.fromEntries(
        [...new URLSearchParams(request.query ?? "")].map(([k, v]) => [k, { value: v }]),
      ),
      headers,
      cookies,
    };
    this.origin = undefined;
    this.lastOrigin = undefined;
    const out = (await this.handler!({
      version: "1.0",
      context: {
        eventType: "viewer-request",
        distributionDomainName: this.distribution.domainName,
      },
      viewer: { ip: request.viewerIp ?? "203.0.113.9" },
      request: viewer,
    })) as ViewerRequest | { statusCode: number; body?: { data: string } };
    if ("statusCode" in out) {
      return {
        status: out.statusCode,
        headers: {},
        body: out.body?.data ?? "",
        binary: false,
        cookies: [],
      };
    }
    const origin = this.origin as Origin | undefined;
    if (!origin) return problem(502, "no origin chosen");
    if (origin.domainName.includes(".lambda-url.")) {
      this.lastOrigin = "function";
      return this.toFunctionUrl(out, origin, request);
    }
    if (origin.domainName.includes(".s3.")) {
      this.lastOrigin = "bucket";
      return this.toBucket(out, origin);
    }
    return problem(502, `unexpected origin ${origin.domainName}`);
  }

  private async allowed(call: ServiceCall): Promise<boolean> {
    this.offline.serviceCalls.record(call);
    return (await this.authorizer.authorize(call.principal, call)).decision === "Allowed";
  }

  private async toFunctionUrl(
    viewer: ViewerRequest,
    origin: Origin,
    request: RouterRequest,
  ): Promise<HttpResponse> {
    const api = this.d.fn("Api");
    const url = this.d.one("aws:lambda/functionUrl:FunctionUrl", "ApiUrl");
    const oac = origin.originAccessControlConfig?.enabled === true;
    const authType = String(url.inputs.authorizationType);
    if (authType === "AWS_IAM") {
      if (!oac) return problem(403, "the function URL wants SigV4 and CloudFront does not sign");
      const by = "CloudFront's origin access control";
      const context = {
        "aws:SourceArn": this.distribution.arn,
        "aws:SourceAccount": this.d.account,
        "lambda:FunctionUrlAuthType": "AWS_IAM",
      };
      const both = await Promise.all([
        this.allowed({
          principal: "cloudfront.amazonaws.com",
          action: "lambda:InvokeFunctionUrl",
          resource: api.arn,
          context,
          by,
        }),
        this.allowed({
          principal: "cloudfront.amazonaws.com",
          action: "lambda:InvokeFunction",
          resource: api.arn,
          context: { ...context, "lambda:InvokedViaFunctionUrl": "true" },
          by,
        }),
      ]);
      if (!both.every(Boolean)) return problem(403, "Lambda refused CloudFront's signed request");
    }
    const body =
      request.body === undefined ? undefined : Buffer.from(request.body as string | Uint8Array);
    // Lambda@Edge, origin request: SST's signer adds the body's hash (and refuses > 1 MB).
    const edge = (await this.edgeSigner!({
      Records: [
        {
          cf: {
            request: {
              method: viewer.method,
              uri: viewer.uri,
              headers: Object.fromEntries(
                Object.entries(viewer.headers).map(([k, v]) => [k, [{ key: k, value: v.value }]]),
              ),
              body: body && {
                data: body.subarray(0, 1024 * 1024).toString("base64"),
                encoding: "base64",
                inputTruncated: body.length > 1024 * 1024,
              },
            },
          },
        },
      ],
    })) as { status?: string; headers: Record<string, { value: string }[]> };
    if (edge.status) return problem(Number(edge.status), "Lambda@Edge refused the request");
    const headers: Record<string, string> = {};
    for (const [name, values] of Object.entries(edge.headers)) headers[name] = values[0]!.value;
    // OAC's signature replaces the viewer's Authorization (signingBehavior "always").
    if (oac) headers.authorization = "AWS4-HMAC-SHA256 Credential=CLOUDFRONT/...";
    headers.host = origin.domainName;
    const cookie = Object.entries(viewer.cookies)
      .map(([k, v]) => `${k}=${v.value}`)
      .join("; ");
    return this.offline.functionUrl(viewer.uri, {
      method: viewer.method,
      headers: { ...headers, ...(cookie ? { cookie } : {}) },
      query: new URLSearchParams(
        Object.entries(viewer.querystring).map(([k, v]): [string, string] => [k, v.value]),
      ).toString(),
      ...(body ? { body: request.body } : {}),
    });
  }

  private async toBucket(viewer: ViewerRequest, origin: Origin): Promise<HttpResponse> {
    const bucket = origin.domainName.split(".s3.")[0]!;
    const key = decodeURIComponent(viewer.uri.replace(/^\//, ""));
    if (origin.originAccessControlConfig?.enabled !== true) {
      return problem(403, "CloudFront reads the private bucket only with origin access control");
    }
    const context = { "aws:SourceArn": this.distribution.arn, "aws:SourceAccount": this.d.account };
    const by = "CloudFront's origin access control";
    const read = await this.allowed({
      principal: "cloudfront.amazonaws.com",
      action: "s3:GetObject",
      resource: `arn:aws:s3:::${bucket}/${key}`,
      context,
      by,
    });
    let object: Awaited<ReturnType<S3Client["send"]>> & Record<string, unknown>;
    try {
      object = (await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))) as never;
    } catch (error) {
      if (!(error instanceof NoSuchKey)) throw error;
      const list = await this.allowed({
        principal: "cloudfront.amazonaws.com",
        action: "s3:ListBucket",
        resource: `arn:aws:s3:::${bucket}`,
        context,
        by,
      });
      return problem(read && list ? 404 : 403, read && list ? "NoSuchKey" : "AccessDenied");
    }
    if (!read) return problem(403, "AccessDenied");
    const bytes = Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    const type = String(object.ContentType ?? "application/octet-stream");
    const binary = !/pem|text|json/.test(type);
    return {
      status: 200,
      headers: {
        "content-type": type,
        ...(object.CacheControl ? { "cache-control": String(object.CacheControl) } : {}),
      },
      body: binary ? bytes.toString("base64") : bytes.toString("utf8"),
      binary,
      cookies: [],
    };
  }
}

function problem(status: number, text: string): HttpResponse {
  return {
    status,
    headers: { "content-type": "text/plain" },
    body: text,
    binary: false,
    cookies: [],
  };
}
