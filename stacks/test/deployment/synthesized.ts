/**
 * The deployment as the synthesis says it would be: each function with its role, environment
 * and bundle; the rules, queues and schedule that invoke them; the resource policies. Read from
 * the recorded resources only (what `sst deploy` would send to AWS), never from our own stacks'
 * source, so what SST generates is what gets tested.
 */
import type { Synthesis, SynthResource } from "../synth.ts";

export type PolicyDocument = { Version?: string; Statement: PolicyStatement[] };
export type PolicyStatement = {
  Sid?: string;
  Effect: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

export interface SynthesizedRole {
  /** The role's component name, e.g. "ApiRole". */
  readonly name: string;
  readonly arn: string;
  readonly trust: PolicyDocument;
  /** Its inline policies, by name. */
  readonly policies: { readonly name: string; readonly policy: PolicyDocument }[];
  readonly managedPolicyArns: readonly string[];
}

export interface SynthesizedFunction {
  /** The SST component name (the key of stacks/grants.ts), e.g. "Api". */
  readonly name: string;
  readonly physicalName: string;
  readonly arn: string;
  readonly environment: Record<string, string>;
  readonly role: SynthesizedRole;
  /** The folder SST's build produced (what it zips), and Lambda's handler setting. */
  readonly bundleDir: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
}

export interface SynthesizedRule {
  readonly name: string;
  readonly arn: string;
  readonly eventBusName: string;
  readonly pattern: Record<string, unknown>;
  /** The ARNs of its targets (functions or queues). */
  readonly targets: readonly string[];
}

export const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** A policy input, which the provider takes as JSON text or as an object. */
export function policyOf(value: unknown): PolicyDocument {
  return (typeof value === "string" ? JSON.parse(value) : value) as PolicyDocument;
}

export class SynthesizedDeployment {
  readonly synthesis: Synthesis;

  constructor(synthesis: Synthesis) {
    this.synthesis = synthesis;
  }

  byType(type: string): SynthResource[] {
    return this.synthesis.resources.filter((r) => r.type === type);
  }

  one(type: string, name: string): SynthResource {
    const found = this.synthesis.resources.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`the synthesis has no ${type} named ${name}`);
    return found;
  }

  get account(): string {
    return /^arn:[^:]+:[^:]*:[^:]*:(\d{12}):/.exec(this.key.arn)![1]!;
  }

  get region(): string {
    return /^arn:[^:]+:kms:([^:]+):/.exec(this.key.arn)![1]!;
  }

  roles(): SynthesizedRole[] {
    return this.byType("aws:iam/role:Role").map((r) => ({
      name: r.name,
      arn: String(r.outputs.arn),
      trust: policyOf(r.inputs.assumeRolePolicy),
      policies: ((r.inputs.inlinePolicies ?? []) as { name: string; policy: unknown }[]).map(
        (p) => ({ name: p.name, policy: policyOf(p.policy) }),
      ),
      managedPolicyArns: (r.inputs.managedPolicyArns ?? []) as string[],
    }));
  }

  role(name: string): SynthesizedRole {
    const role = this.roles().find((r) => r.name === name);
    if (!role) throw new Error(`the synthesis has no role ${name}`);
    return role;
  }

  /** The role whose ARN is `arn`. */
  roleByArn(arn: string): SynthesizedRole {
    const role = this.roles().find((r) => r.arn === arn);
    if (!role) throw new Error(`the synthesis has no role ${arn}`);
    return role;
  }

  functions(): SynthesizedFunction[] {
    return this.synthesis.builds.map((build) => {
      const fn = this.one("aws:lambda/function:Function", `${build.functionID}Function`);
      return {
        name: build.functionID,
        physicalName: String(fn.outputs.name),
        arn: String(fn.outputs.arn),
        environment: (fn.inputs.environment as { variables: Record<string, string> }).variables,
        role: this.roleByArn(String(fn.inputs.role)),
        bundleDir: build.out,
        handler: String(fn.inputs.handler),
        timeoutSeconds: Number(fn.inputs.timeout),
      };
    });
  }

  fn(name: string): SynthesizedFunction {
    const found = this.functions().find((f) => f.name === name);
    if (!found) throw new Error(`the synthesis has no function ${name}`);
    return found;
  }

  /** The CA key, and its policy: its own KeyPolicy resource's, else the key's, if any. */
  get key(): { arn: string; policy: PolicyDocument | undefined } {
    const [key] = this.byType("aws:kms/key:Key");
    if (!key) throw new Error("the synthesis has no KMS key");
    const separate = this.byType("aws:kms/keyPolicy:KeyPolicy").find(
      (p) => p.inputs.keyId === key.outputs.keyId,
    );
    const policy = separate?.inputs.policy ?? key.inputs.policy;
    return {
      arn: String(key.outputs.arn),
      policy: policy === undefined ? undefined : policyOf(policy),
    };
  }

  /** The bucket policy of `bucket`, if any. */
  bucketPolicy(bucket: string): PolicyDocument | undefined {
    const found = this.byType("aws:s3/bucketPolicy:BucketPolicy").find(
      (p) => p.inputs.bucket === bucket,
    );
    return found ? policyOf(found.inputs.policy) : undefined;
  }

  rules(): SynthesizedRule[] {
    const targets = this.byType("aws:cloudwatch/eventTarget:EventTarget");
    return this.byType("aws:cloudwatch/eventRule:EventRule").map((rule) => {
      const name = String(rule.outputs.name);
      return {
        name,
        arn: String(rule.outputs.arn),
        eventBusName: String(rule.inputs.eventBusName),
        pattern: JSON.parse(String(rule.inputs.eventPattern)) as Record<string, unknown>,
        targets: targets.filter((t) => t.inputs.rule === name).map((t) => String(t.inputs.arn)),
      };
    });
  }

  /** SQS event source mappings: queue ARN to function ARN, with batching. */
  eventSourceMappings(): { queueArn: string; functionArn: string; batchSize: number }[] {
    return this.byType("aws:lambda/eventSourceMapping:EventSourceMapping").map((m) => ({
      queueArn: String(m.inputs.eventSourceArn),
      functionArn: String(m.inputs.functionName),
      batchSize: Number(m.inputs.batchSize ?? 10),
    }));
  }

  /** Asynchronous-invocation failure destinations, by function name. */
  failureDestinations(): Map<string, string> {
    // A config may only set retries and age (the enforcement sync's): it has no destination.
    return new Map(
      this.byType("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").flatMap((c) => {
        const destination = (
          c.inputs.destinationConfig as { onFailure?: { destination?: string } } | undefined
        )?.onFailure?.destination;
        return destination ? [[String(c.inputs.functionName), String(destination)] as const] : [];
      }),
    );
  }

  schedules(): { targetArn: string; roleArn: string; input: unknown }[] {
    return this.byType("aws:scheduler/schedule:Schedule").map((s) => {
      const target = s.inputs.target as { arn: string; roleArn: string; input: string };
      return { targetArn: target.arn, roleArn: target.roleArn, input: JSON.parse(target.input) };
    });
  }

  stateMachine(): { arn: string; roleArn: string; definition: string } {
    const [machine] = this.byType("aws:sfn/stateMachine:StateMachine");
    if (!machine) throw new Error("the synthesis has no state machine");
    return {
      arn: String(machine.outputs.arn),
      roleArn: String(machine.inputs.roleArn),
      definition: String(machine.inputs.definition),
    };
  }

  queueArn(name: string): string {
    return String(this.one("aws:sqs/queue:Queue", `${name}Queue`).outputs.arn);
  }
}
