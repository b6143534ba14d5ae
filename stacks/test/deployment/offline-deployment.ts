/**
 * The synthesized deployment, run on one machine: every Lambda bundle SST built, in a process of
 * its own with the environment the stack gives it, its SDK clients pointed (AWS_ENDPOINT_URL_*)
 * at stand-ins that speak the real protocols: DynamoDB (dynalite), S3 (s3rver), SES
 * (aws-ses-v2-local), KMS (a software key), EventBridge and SQS routed by the synthesized rules,
 * Step Functions on the local engine, and the enforcement gates (gate-stand-ins.ts: trust
 * stores, custom domains, IAM Roles Anywhere; the bucket answers with object versions there).
 * The table, bucket and bus carry their synthesized names.
 *
 * Stand-ins ignore IAM. Each function therefore runs with its SDK call log on
 * (PKI_SDK_CALL_LOG): what its code asked of AWS, as IAM authorizes it, for the conformance test
 * to hold against the synthesized policies, together with the calls AWS services make for the
 * deployment (serviceCalls).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createTable } from "../../../packages/core/src/store/table.ts";
import { type LocalDynamo, startDynalite } from "../../../packages/core/test/support/dynamo.ts";
import { testKey } from "../../../packages/core/test/support/kms-mock.ts";
import { type LocalS3, startS3rver } from "../../../packages/core/test/support/s3.ts";
import type { LoggedCall } from "../../../packages/functions/src/lambda/sdk-call-log.ts";
import type { Synthesis } from "../synth.ts";
import { EventRouting } from "./event-routing.ts";
import { type GateState, startGateStandIns, startVersioningProxy } from "./gate-stand-ins.ts";
import { type KmsStandIn, startKmsStandIn } from "./kms-stand-in.ts";
import { LambdaContainer } from "./lambda-container.ts";
import { ServiceCalls } from "./service-calls.ts";
import { SesStandIn, type StoredMail } from "./ses-stand-in.ts";
import { SynthesizedDeployment } from "./synthesized.ts";
import { WorkflowStandIn } from "./workflow-stand-in.ts";

export type { StoredMail };

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Text, or base64 when `binary`. */
  readonly body: string;
  readonly binary: boolean;
  /** Set-Cookie values (a function URL returns them apart from the headers). */
  readonly cookies: string[];
}

export interface HttpRequest {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Uint8Array;
  readonly query?: string;
}

export class OfflineDeployment {
  readonly deployment: SynthesizedDeployment;
  readonly containers = new Map<string, LambdaContainer>();
  readonly serviceCalls = new ServiceCalls();
  readonly events: EventRouting;
  readonly workflow: WorkflowStandIn;
  private readonly workDir: string;
  private readonly closers: (() => Promise<void> | void)[] = [];
  readonly ses = new SesStandIn();
  private kmsStandIn: KmsStandIn | undefined;
  private localS3: LocalS3 | undefined;
  private localDynamo: LocalDynamo | undefined;
  private gateState: GateState | undefined;

  private constructor(synthesis: Synthesis, workDir: string) {
    this.deployment = new SynthesizedDeployment(synthesis);
    this.workDir = workDir;
    this.events = new EventRouting(this.deployment, this.containers, this.serviceCalls);
    this.workflow = new WorkflowStandIn(
      this.deployment,
      this.containers,
      this.serviceCalls,
      workDir,
    );
  }

  static async start(synthesis: Synthesis, workDir: string): Promise<OfflineDeployment> {
    const offline = new OfflineDeployment(synthesis, workDir);
    try {
      await offline.startAll();
    } catch (error) {
      await offline.close();
      throw error;
    }
    return offline;
  }

  private async startAll(): Promise<void> {
    mkdirSync(join(this.workDir, "calls"), { recursive: true });
    const api = this.deployment.fn("Api").environment;
    const dynamo: LocalDynamo = await startDynalite();
    this.localDynamo = dynamo;
    this.closers.push(() => dynamo.close());
    await createTable(dynamo.client, api.PKI_TABLE!);
    const s3: LocalS3 = await startS3rver([api.PKI_BUCKET!]);
    this.localS3 = s3;
    this.closers.push(() => s3.close());
    await this.ses.start();
    this.closers.push(() => this.ses.close());
    const keySpec = this.deployment.byType("aws:kms/key:Key")[0]!.inputs.customerMasterKeySpec;
    const kms = await startKmsStandIn(this.deployment.key.arn, await testKey(keySpec as never));
    this.kmsStandIn = kms;
    this.closers.push(() => kms.close());
    await this.events.start();
    this.closers.push(() => this.events.close());
    await this.workflow.start();
    this.closers.push(() => this.workflow.close());

    const gates = await startGateStandIns();
    this.gateState = gates.state;
    this.closers.push(() => gates.close());
    const versioned = await startVersioningProxy(s3.endpoint);
    this.closers.push(() => versioned.close());

    const endpoints = {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: versioned.endpoint,
      AWS_ENDPOINT_URL_SESV2: this.ses.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: this.events.endpoint,
      AWS_ENDPOINT_URL_SFN: this.workflow.endpoint,
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: gates.endpoint,
      AWS_ENDPOINT_URL_API_GATEWAY: gates.endpoint,
      AWS_ENDPOINT_URL_ROLESANYWHERE: gates.endpoint,
    };
    const started = await Promise.all(
      this.deployment.functions().map((fn) =>
        LambdaContainer.start({
          functionName: fn.physicalName,
          dir: fn.bundleDir,
          handler: fn.handler,
          env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            TZ: ":UTC",
            LANG: "en_US.UTF-8",
            AWS_REGION: this.deployment.region,
            AWS_DEFAULT_REGION: this.deployment.region,
            // s3rver checks signatures against its one pair; the other stand-ins take any.
            AWS_ACCESS_KEY_ID: "S3RVER",
            AWS_SECRET_ACCESS_KEY: "S3RVER",
            AWS_LAMBDA_FUNCTION_NAME: fn.physicalName,
            AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "1024",
            AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.physicalName}`,
            LAMBDA_TASK_ROOT: fn.bundleDir,
            POWERTOOLS_TRACE_ENABLED: "false",
            ...endpoints,
            ...fn.environment,
            PKI_SDK_CALL_LOG: this.callLogFile(fn.name),
            PKI_SDK_CALL_LOG_ACCOUNT: this.deployment.account,
          },
        }).then((container) => [fn.name, container] as const),
      ),
    );
    for (const [name, container] of started) {
      this.containers.set(name, container);
      this.closers.push(() => container.close());
    }
  }

  /** The bucket's stand-in (CloudFront's reads through origin access control use it). */
  get s3(): LocalS3 {
    if (!this.localS3) throw new Error("not started");
    return this.localS3;
  }

  /** What the enforcement gates were given (trust stores, domains, CRLs). */
  get gates(): GateState {
    if (!this.gateState) throw new Error("not started");
    return this.gateState;
  }

  /** The table's stand-in (to leave behind what a function that died would have). */
  get dynamo(): LocalDynamo {
    if (!this.localDynamo) throw new Error("not started");
    return this.localDynamo;
  }

  private callLogFile(name: string): string {
    return join(this.workDir, "calls", `${name}.jsonl`);
  }

  /** A synchronous invocation of the function named `name` in stacks/grants.ts. */
  invoke<T = unknown>(name: string, event: unknown): Promise<T> {
    const container = this.containers.get(name);
    if (!container) throw new Error(`no function ${name}`);
    return container.invoke<T>(event);
  }

  /** What `name`'s code asked of AWS so far. */
  callLog(name: string): LoggedCall[] {
    const file = this.callLogFile(name);
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as LoggedCall);
  }

  /**
   * The API function invoked as its function URL invokes it (payload format 2.0), with the
   * headers given (the Router's own included).
   */
  async functionUrl(path: string, request: HttpRequest = {}): Promise<HttpResponse> {
    const method = request.method ?? "GET";
    const binary = request.body instanceof Uint8Array;
    const { cookie, ...headers } = request.headers ?? {};
    const result = (await this.invoke("Api", {
      version: "2.0",
      routeKey: "$default",
      rawPath: path,
      rawQueryString: request.query ?? "",
      headers,
      ...(cookie ? { cookies: cookie.split(/;\s*/) } : {}),
      requestContext: {
        accountId: this.deployment.account,
        apiId: "url",
        domainName: `url.lambda-url.${this.deployment.region}.on.aws`,
        domainPrefix: "url",
        requestId: `r${Date.now()}`,
        routeKey: "$default",
        stage: "$default",
        time: new Date().toUTCString(),
        timeEpoch: Date.now(),
        http: {
          method,
          path,
          protocol: "HTTP/1.1",
          sourceIp: "192.0.2.10",
          userAgent: "offline",
        },
      },
      ...(request.body === undefined
        ? { isBase64Encoded: false }
        : {
            body: binary ? Buffer.from(request.body).toString("base64") : (request.body as string),
            isBase64Encoded: binary,
          }),
    })) as {
      statusCode: number;
      headers?: Record<string, string>;
      body?: string;
      isBase64Encoded?: boolean;
      cookies?: string[];
    };
    return {
      status: result.statusCode,
      headers: result.headers ?? {},
      body: result.body ?? "",
      binary: result.isBase64Encoded === true,
      cookies: result.cookies ?? [],
    };
  }

  /**
   * Every schedule's target invoked once, as EventBridge Scheduler would with its role. Each
   * fires on its own, so one that fails stops none of the others; the first failure is thrown.
   */
  async runSchedules(): Promise<void> {
    const failures: unknown[] = [];
    for (const schedule of this.deployment.schedules()) {
      await this.runOneSchedule(schedule).catch((error: unknown) => failures.push(error));
    }
    if (failures.length > 0) throw failures[0];
  }

  /** The schedule of the function named `name` in stacks/grants.ts; what the function returned. */
  runSchedule<T = unknown>(name: string): Promise<T> {
    const arn = this.deployment.fn(name).arn;
    const schedule = this.deployment.schedules().find((s) => s.targetArn === arn);
    if (!schedule) throw new Error(`no schedule invokes ${name}`);
    return this.runOneSchedule(schedule) as Promise<T>;
  }

  private runOneSchedule(schedule: ReturnType<SynthesizedDeployment["schedules"]>[number]) {
    this.serviceCalls.record({
      principal: schedule.roleArn,
      action: "lambda:InvokeFunction",
      resource: schedule.targetArn,
      by: "the EventBridge Scheduler schedule",
    });
    const fn = this.deployment.functions().find((f) => f.arn === schedule.targetArn)!;
    return this.invoke(fn.name, schedule.input);
  }

  /** Waits until every event has been delivered and every delivery has ended. */
  settled(): Promise<void> {
    return this.events.settled();
  }

  mails(): Promise<StoredMail[]> {
    return this.ses.mails();
  }

  /** KMS's stand-in, to make a signature fail. */
  get kms(): KmsStandIn {
    if (!this.kmsStandIn) throw new Error("not started");
    return this.kmsStandIn;
  }

  async close(): Promise<void> {
    for (const close of this.closers.reverse()) await close();
  }
}
