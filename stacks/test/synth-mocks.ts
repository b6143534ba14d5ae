/**
 * The stand-ins `stacks/test/synth.ts` runs sst.config.ts against: Pulumi mocks that record
 * every resource and answer the provider data sources (account, region, partition, IAM policy
 * documents), and the RPC server SST's components call for function builds. Runs inside the
 * synthesis program (bundled by synth.ts), never in the test process itself.
 */
import { cpSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { runtime } from "@pulumi/pulumi";
import { bundleLambda } from "../../bench/lambda-bundle.ts";

import { ACCOUNT, DEPLOYER_SESSION_ARN, REGION } from "./mock-account.ts";

interface Recorded {
  type: string;
  name: string;
  id: string;
  inputs: Record<string, unknown>;
  /** What the mock answered beyond the inputs (ARNs, names): what AWS would add. */
  outputs: Record<string, unknown>;
  /** An existing resource the program reads (Resource.get), which the deploy does not create. */
  read?: boolean;
  options: { protect?: boolean; retainOnDelete?: boolean; ignoreChanges?: string[] };
  provider?: string;
}

/**
 * When the program last did anything, and how many RPC calls are still being answered: the
 * program is done once neither the mocks nor the RPC server has been busy for a while. A build
 * (esbuild) can run for seconds without a resource arriving, and the functions it belongs to
 * come after it.
 */
const activity = { last: Date.now(), rpcInFlight: 0 };
const touch = () => {
  activity.last = Date.now();
};

interface Build {
  functionID: string;
  handler: string;
  out: string;
}

/** SST's CLI RPC, as far as deploying this app needs it. */
export async function startRpc(workDir: string) {
  const builds: Build[] = [];
  const methods: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
    "Provider.Aws.Bootstrap": async () => ({
      asset: `sst-asset-${ACCOUNT}`,
      assetEcrRegistryId: ACCOUNT,
      assetEcrUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sst-asset`,
      state: `sst-state-${ACCOUNT}`,
      appsyncHttp: "",
      appsyncRealtime: "",
    }),
    "Runtime.Build": async (args) => {
      const functionID = String(args.functionID);
      const handler = String(args.handler);
      const dot = handler.lastIndexOf(".");
      const entry = `${handler.slice(0, dot)}.ts`;
      const out = join(workDir, "artifacts", functionID);
      mkdirSync(out, { recursive: true });
      const errors: string[] = [];
      try {
        statSync(entry);
        await bundleLambda(entry, out, "index");
      } catch (e) {
        errors.push(`${functionID}: cannot bundle ${entry}: ${(e as Error).message}`);
      }
      for (const file of (args.copyFiles ?? []) as { from: string; to: string }[]) {
        cpSync(file.from, join(out, file.to), { recursive: true });
      }
      builds.push({ functionID, handler, out });
      return { handler: `index${handler.slice(dot)}`, out, errors, sourcemaps: [] };
    },
  };
  const server = createServer((req, res) => {
    activity.rpcInFlight += 1;
    touch();
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", async () => {
      const { method, params } = JSON.parse(body) as { method: string; params: unknown[] };
      const call = methods[method];
      let reply: unknown;
      if (!call) reply = { error: `rpc: can't find method ${method}` };
      else {
        try {
          reply = { result: await call(params[0] as Record<string, unknown>) };
        } catch (e) {
          reply = { error: (e as Error).message };
        }
      }
      // One connection per call: SST's client (http.request on Node's keep-alive global agent)
      // reuses idle sockets, and a reuse racing the socket's end, on a busy machine, killed the
      // program with ECONNRESET even with idle sockets kept. A fresh socket per call has no such
      // race, and costs nothing on the loopback.
      res.writeHead(200, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify(reply));
      activity.rpcInFlight -= 1;
      touch();
    });
  });
  server.keepAliveTimeout = 60 * 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    builds,
    // Not closed: a call that came after the program settled would be refused (ECONNREFUSED)
    // and kill it. Unreferenced, the server does not keep the program alive.
    close: () => server.unref(),
  };
}

const arn = (service: string, resource: string, region = REGION, account = ACCOUNT) =>
  `arn:aws:${service}:${region}:${account}:${resource}`;

/** Outputs AWS would add to a resource: ARNs and names, derived from its inputs. */
function stateOf(type: string, name: string, inputs: Record<string, unknown>) {
  const physical = String(inputs.name ?? `${name.toLowerCase()}-a1b2c3d`);
  switch (type) {
    case "aws:lambda/function:Function":
      return {
        arn: arn("lambda", `function:${physical}`),
        name: physical,
        invokeArn: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/${arn("lambda", `function:${physical}`)}/invocations`,
        qualifiedArn: `${arn("lambda", `function:${physical}`)}:$LATEST`,
        version: "$LATEST",
        // No sourceCodeHash: SST deploys the code from S3 (s3Key), and the provider only
        // echoes a configured hash, so a deployed function has none unless set.
      };
    case "aws:lambda/functionUrl:FunctionUrl":
      return {
        functionUrl: `https://${name.toLowerCase()}.lambda-url.${REGION}.on.aws/`,
        urlId: "url",
      };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${ACCOUNT}:role/${physical}`, name: physical };
    case "aws:dynamodb/table:Table":
      return { arn: arn("dynamodb", `table/${physical}`), name: physical, streamArn: "" };
    case "aws:s3/bucket:Bucket":
    case "aws:s3/bucketV2:BucketV2": {
      const bucket = String(inputs.bucket ?? `${name.toLowerCase()}-a1b2c3d`);
      return {
        arn: `arn:aws:s3:::${bucket}`,
        bucket,
        bucketDomainName: `${bucket}.s3.amazonaws.com`,
        bucketRegionalDomainName: `${bucket}.s3.${REGION}.amazonaws.com`,
      };
    }
    case "aws:kms/key:Key":
      return {
        arn: arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        keyId: "1234abcd-12ab-34cd-56ef-1234567890ab",
      };
    case "aws:kms/alias:Alias":
      return { arn: arn("kms", String(inputs.name)), name: inputs.name };
    case "aws:sfn/stateMachine:StateMachine":
      return { arn: arn("states", `stateMachine:${physical}`), name: physical };
    case "aws:sqs/queue:Queue":
      return {
        arn: arn("sqs", physical),
        url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${physical}`,
        name: physical,
      };
    case "aws:cloudwatch/eventBus:EventBus":
      return { arn: arn("events", `event-bus/${physical}`), name: physical };
    case "aws:cloudwatch/eventRule:EventRule":
      return { arn: arn("events", `rule/${physical}`), name: physical };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: arn("logs", `log-group:${physical}`), name: physical };
    case "aws:sesv2/emailIdentity:EmailIdentity": {
      const domain = !String(inputs.emailIdentity).includes("@");
      return {
        arn: arn("ses", `identity/${inputs.emailIdentity}`),
        // Easy DKIM: a domain identity's three tokens.
        ...(domain ? { dkimSigningAttributes: { tokens: ["dkim1", "dkim2", "dkim3"] } } : {}),
      };
    }
    case "aws:sesv2/configurationSet:ConfigurationSet":
      return {
        arn: arn("ses", `configuration-set/${inputs.configurationSetName || physical}`),
        configurationSetName: inputs.configurationSetName || physical,
      };
    case "aws:sns/topic:Topic":
      return { arn: arn("sns", physical), name: physical };
    case "aws:scheduler/schedule:Schedule":
      return { arn: arn("scheduler", `schedule/default/${physical}`), name: physical };
    case "aws:cloudfront/distribution:Distribution":
      return {
        arn: `arn:aws:cloudfront::${ACCOUNT}:distribution/E1ABCDEF`,
        domainName: "d1abcdef.cloudfront.net",
        hostedZoneId: "Z2FDTNDATAQYW2",
        etag: "E1",
      };
    case "aws:cloudfront/keyValueStore:KeyValueStore":
      return { arn: `arn:aws:cloudfront::${ACCOUNT}:key-value-store/kvs`, etag: "E1" };
    case "aws:cloudfront/function:Function":
      return { arn: `arn:aws:cloudfront::${ACCOUNT}:function/${physical}`, etag: "E1" };
    case "aws:acm/certificate:Certificate":
      return {
        arn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/0000`,
        domainValidationOptions: [
          inputs.domainName,
          ...((inputs.subjectAlternativeNames ?? []) as string[]),
        ].map((domain) => ({
          domainName: domain,
          resourceRecordName: `_acme.${domain}.`,
          resourceRecordType: "CNAME",
          resourceRecordValue: "_validation.acm-validations.aws.",
        })),
      };
    case "random:index/randomBytes:RandomBytes":
      return { base64: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", hex: "00".repeat(32) };
    case "random:index/randomId:RandomId":
      return { hex: "a1b2c3d4", b64Url: "obLD1A", dec: "1" };
    case "aws:apigatewayv2/api:Api":
      return {
        arn: `arn:aws:apigateway:${REGION}::/apis/${physical}`,
        name: physical,
        apiEndpoint: `https://${physical}.execute-api.${REGION}.amazonaws.com`,
        executionArn: arn("execute-api", physical),
      };
    case "aws:apigateway/restApi:RestApi":
      return {
        arn: `arn:aws:apigateway:${REGION}::/restapis/${physical}`,
        name: physical,
        rootResourceId: `${physical}-root`,
        executionArn: arn("execute-api", physical),
      };
    case "aws:apigateway/domainName:DomainName":
      return {
        arn: `arn:aws:apigateway:${REGION}:${ACCOUNT}:/domainnames/${inputs.domainName}+abc123`,
        domainNameId: "abc123",
        name: physical,
      };
    case "aws:ec2/securityGroup:SecurityGroup":
      return { arn: arn("ec2", `security-group/sg-${name.toLowerCase()}`), name: physical };
    case "aws:ec2/vpcEndpoint:VpcEndpoint":
      return {
        arn: arn("ec2", `vpc-endpoint/vpce-${name.toLowerCase()}`),
        name: physical,
        prefixListId: inputs.vpcEndpointType === "Gateway" ? `pl-${name.toLowerCase()}` : "",
      };
    case "aws:cognito/userPoolClient:UserPoolClient":
      // Cognito generates the secret (generateSecret); the provider marks it secret, which the
      // mocks do not, so it reads here in clear.
      return {
        name: physical,
        ...(inputs.generateSecret ? { clientSecret: `${name}-generated-secret` } : {}),
      };
    case "aws:lambda/invocation:Invocation":
      return { result: JSON.stringify({ status: "created" }) };
    default: {
      const [, module] = type.split(":");
      const service = (module ?? "unknown").split("/")[0] ?? "unknown";
      return { arn: arn(service, physical), name: physical };
    }
  }
}

/** The inputs a read resource's id stands for. */
function idInputs(type: string, id: string): Record<string, unknown> {
  return type === "aws:sesv2/emailIdentity:EmailIdentity" ? { emailIdentity: id } : { name: id };
}

type Statement = Record<string, unknown>;

/** aws.iam.getPolicyDocument, as the provider renders it (arrays kept as arrays). */
function policyDocument(inputs: Record<string, unknown>): string {
  const statements = (inputs.statements ?? []) as Statement[];
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: statements.map((s) => {
      const out: Statement = { Effect: capitalise(String(s.effect ?? "Allow")) };
      if (s.sid) out.Sid = s.sid;
      if (s.actions) out.Action = s.actions;
      if (s.notActions) out.NotAction = s.notActions;
      if (s.resources) out.Resource = s.resources;
      if (s.principals) {
        const principals: Record<string, unknown> = {};
        for (const p of s.principals as { type: string; identifiers: string[] }[]) {
          principals[p.type === "*" ? "AWS" : p.type] = p.identifiers;
        }
        out.Principal = (s.principals as { type: string }[]).some((p) => p.type === "*")
          ? "*"
          : principals;
      }
      if (s.conditions) {
        const conditions: Record<string, Record<string, unknown>> = {};
        for (const c of s.conditions as { test: string; variable: string; values: string[] }[]) {
          conditions[c.test] ??= {};
          conditions[c.test]![c.variable] = c.values;
        }
        out.Condition = conditions;
      }
      return out;
    }),
  });
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();
}

export function mocks() {
  const resources: Recorded[] = [];
  const options = new Map<string, Recorded["options"]>();
  const unknownCalls = new Set<string>();
  const result: runtime.Mocks = {
    newResource(args) {
      touch();
      // A read (Resource.get) names an existing resource by its id and creates nothing.
      const read = args.id !== undefined && args.id !== "";
      const outputs = stateOf(
        args.type,
        args.name,
        read ? { ...idInputs(args.type, String(args.id)), ...args.inputs } : args.inputs,
      );
      const state = { ...args.inputs, ...outputs };
      const id = read
        ? String(args.id)
        : String((state as { name?: unknown }).name ?? `${args.name}-id`);
      resources.push({
        type: args.type,
        name: args.name,
        id,
        inputs: args.inputs,
        outputs,
        options: {},
        ...(read ? { read: true } : {}),
        // A provider reference is "<urn>::<id>"; the id names the provider resource.
        ...(args.provider
          ? { provider: args.provider.slice(args.provider.lastIndexOf("::") + 2) }
          : {}),
      });
      return { id, state };
    },
    call(args) {
      touch();
      switch (args.token) {
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
        case "aws:index/getRegion:getRegion":
          return {
            region: REGION,
            name: REGION,
            id: REGION,
            endpoint: `ec2.${REGION}.amazonaws.com`,
          };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return {
            accountId: ACCOUNT,
            arn: process.env.SYNTH_CALLER_ARN ?? DEPLOYER_SESSION_ARN,
            userId: "AIDA",
            id: ACCOUNT,
          };
        case "aws:iam/getSessionContext:getSessionContext": {
          // As the provider documents it: an assumed role's session has the role as its
          // issuer; any other ARN is its own issuer.
          const caller = String(args.inputs.arn);
          const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(caller);
          return {
            arn: caller,
            issuerArn: session ? `arn:${session[1]}:iam::${session[2]}:role/${session[3]}` : caller,
            issuerName: session?.[3] ?? "",
            sessionName: session?.[4] ?? "",
            id: caller,
          };
        }
        case "aws:iam/getPolicyDocument:getPolicyDocument":
          // Data sources echo their arguments among their results, as the provider's do.
          return {
            ...args.inputs,
            json: policyDocument(args.inputs),
            minifiedJson: policyDocument(args.inputs),
            id: "policy",
          };
        case "aws:ec2/getRouteTable:getRouteTable": {
          // Two subnets per route table: ...a and ...b share one, as a typical private tier does.
          const subnet = String(args.inputs.subnetId);
          const table = `rtb-${subnet.slice(-8, -1)}0`;
          return { ...args.inputs, routeTableId: table, id: table };
        }
        case "aws:route53/getZone:getZone":
          return {
            zoneId: "Z0123456789ABCDEFGHIJ",
            name: args.inputs.name ?? "example.com",
            id: "Z0123456789ABCDEFGHIJ",
          };
        default:
          unknownCalls.add(args.token);
          return {};
      }
    },
  };
  return {
    mocks: result,
    /**
     * Remembers each resource's options object. Read at the end: SST's own stack
     * transformations change it in place after this one has seen it (retainOnDelete).
     */
    watchOptions() {
      runtime.registerStackTransformation((args) => {
        options.set(`${args.type}::${args.name}`, args.opts as Recorded["options"]);
        return undefined;
      });
    },
    /** Resolves once no resource, call or RPC has arrived or been pending for half a second. */
    async settled() {
      while (activity.rpcInFlight > 0 || Date.now() - activity.last < 500) {
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    write(path: string | undefined, outputs: unknown, builds: Build[]) {
      if (!path) throw new Error("SYNTH_RESULT is not set");
      for (const resource of resources) {
        const opts = options.get(`${resource.type}::${resource.name}`) ?? {};
        resource.options = {
          ...(opts.protect !== undefined ? { protect: opts.protect } : {}),
          ...(opts.retainOnDelete !== undefined ? { retainOnDelete: opts.retainOnDelete } : {}),
          ...(opts.ignoreChanges?.length ? { ignoreChanges: opts.ignoreChanges } : {}),
        };
      }
      writeFileSync(
        path,
        JSON.stringify({ resources, outputs, builds, unknownCalls: [...unknownCalls] }, null, 1),
      );
    },
  };
}
