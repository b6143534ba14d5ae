/**
 * The inside of a LambdaContainer (lambda-container.ts): one process per function, as a Lambda
 * execution environment is. It imports the bundle SST built, then runs each invocation the parent
 * sends over IPC and answers with the JSON result, or with the error as Lambda reports it
 * (errorType, errorMessage).
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";

interface Invocation {
  readonly id: number;
  readonly event: unknown;
  readonly context: Record<string, unknown>;
}

const [dir, handlerSpec] = process.argv.slice(2) as [string, string];
const dot = handlerSpec.lastIndexOf(".");
const module = (await import(
  pathToFileURL(join(dir, `${handlerSpec.slice(0, dot)}.mjs`)).href
)) as Record<string, (event: unknown, context: unknown) => Promise<unknown>>;
const handler = module[handlerSpec.slice(dot + 1)];
if (typeof handler !== "function") throw new Error(`${handlerSpec} is not a function`);

process.on("message", async (message: Invocation) => {
  const started = Date.now();
  const context = {
    ...message.context,
    getRemainingTimeInMillis: () => 30_000 - (Date.now() - started),
  };
  try {
    const result = await handler(message.event, context);
    process.send?.({ id: message.id, result: result === undefined ? null : result });
  } catch (error) {
    const e = error as Error | undefined;
    process.send?.({
      id: message.id,
      error: { errorType: e?.name ?? "Error", errorMessage: e?.message ?? String(error) },
    });
  }
});
process.send?.({ ready: true });
