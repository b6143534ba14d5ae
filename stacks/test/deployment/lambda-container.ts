/**
 * A Lambda function's execution environment, offline: the bundle SST built for it, in a process
 * of its own with the environment the stack gives it (plus endpoints pointing its SDK clients at
 * the stand-ins). Invocations cross as JSON, as they do on Lambda; a thrown error comes back as
 * a LambdaFunctionError carrying Lambda's errorType.
 */
import { type ChildProcess, fork } from "node:child_process";
import { join } from "node:path";

export class LambdaFunctionError extends Error {
  constructor(errorType: string, errorMessage: string) {
    super(errorMessage);
    this.name = errorType;
  }
}

interface Reply {
  readonly id?: number;
  readonly ready?: boolean;
  readonly result?: unknown;
  readonly error?: { errorType: string; errorMessage: string };
}

export interface ContainerOptions {
  /** The function's physical name (AWS_LAMBDA_FUNCTION_NAME). */
  readonly functionName: string;
  /** The bundle's folder (what SST zips and uploads). */
  readonly dir: string;
  /** Lambda's handler setting, e.g. "index.handler". */
  readonly handler: string;
  readonly env: Record<string, string>;
}

export class LambdaContainer {
  readonly functionName: string;
  private readonly child: ChildProcess;
  private readonly pending = new Map<
    number,
    { resolve(value: unknown): void; reject(error: Error): void }
  >();
  private nextId = 0;
  /** What the function wrote (Powertools logs and metrics), for failure messages. */
  private output = "";

  private constructor(functionName: string, child: ChildProcess) {
    this.functionName = functionName;
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-20_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("message", (reply: Reply) => {
      if (reply.id === undefined) return;
      const call = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (!call) return;
      if (reply.error) {
        call.reject(new LambdaFunctionError(reply.error.errorType, reply.error.errorMessage));
      } else call.resolve(reply.result);
    });
    child.on("exit", (code) => {
      for (const call of this.pending.values()) {
        call.reject(new Error(`${functionName} exited (${code}):\n${this.output}`));
      }
      this.pending.clear();
    });
  }

  static async start(options: ContainerOptions): Promise<LambdaContainer> {
    const child = fork(
      join(import.meta.dirname, "lambda-container-main.ts"),
      [options.dir, options.handler],
      { cwd: options.dir, env: options.env, stdio: ["ignore", "pipe", "pipe", "ipc"] },
    );
    const container = new LambdaContainer(options.functionName, child);
    await new Promise<void>((resolve, reject) => {
      const ready = (reply: Reply) => {
        if (!reply.ready) return;
        child.off("message", ready);
        resolve();
      };
      child.on("message", ready);
      child.once("exit", (code) =>
        reject(new Error(`${options.functionName} did not start (${code}):\n${container.output}`)),
      );
    });
    return container;
  }

  /** One synchronous invocation (RequestResponse). */
  invoke<T = unknown>(event: unknown): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({
        id,
        event,
        context: {
          awsRequestId: `${this.functionName}-${id}`,
          functionName: this.functionName,
          functionVersion: "$LATEST",
          memoryLimitInMB: "1024",
          invokedFunctionArn: `arn:aws:lambda:::function:${this.functionName}`,
        },
      });
    });
  }

  /** The last of what the function wrote, for a failing test's message. */
  logs(): string {
    return this.output;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill();
    await exited;
  }
}
