/**
 * What the Lambda entry points write through Powertools: JSON log lines (INFO and DEBUG on
 * stdout, WARN and ERROR on stderr) and EMF metric lines (stdout). Capturing keeps them out of
 * the test report and lets tests assert on them; PKI_TEST_LOGS=1 lets them through as well.
 */

export type JsonLine = Record<string, unknown>;

/** One metric of an EMF line, with its value and its dimension sets. */
export interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly unit: string;
  readonly value: unknown;
  readonly dimensionSets: readonly (readonly string[])[];
  /** The whole line: dimension values are top-level keys. */
  readonly line: JsonLine;
}

export interface PowertoolsOutput {
  /** Every JSON line written since the capture started (or was last cleared), in order. */
  readonly lines: JsonLine[];
  /** Log lines (those with a `level`), optionally only those whose message matches. */
  logs(message?: string | RegExp): JsonLine[];
  /** The metrics of every EMF line, optionally only those with this name. */
  metrics(name?: string): EmittedMetric[];
  clear(): void;
  stop(): void;
}

export function capturePowertoolsOutput(): PowertoolsOutput {
  const lines: JsonLine[] = [];
  const passThrough = process.env.PKI_TEST_LOGS === "1";
  const restore: (() => void)[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    // Powertools writes each line as one string; anything else (the test runner's own
    // reporting among it) goes through untouched.
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const parsed = typeof chunk === "string" ? jsonLines(chunk) : undefined;
      if (!parsed) return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
      lines.push(...parsed);
      if (passThrough)
        return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
      const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original;
    });
  }
  return {
    lines,
    logs: (message) =>
      lines.filter(
        (l) =>
          typeof l.level === "string" &&
          (message === undefined ||
            (typeof message === "string"
              ? l.message === message
              : message.test(String(l.message)))),
      ),
    metrics: (name) =>
      lines.flatMap((line) => {
        const aws = line._aws as
          | {
              CloudWatchMetrics?: {
                Namespace: string;
                Dimensions: string[][];
                Metrics: { Name: string; Unit: string }[];
              }[];
            }
          | undefined;
        return (aws?.CloudWatchMetrics ?? []).flatMap((directive) =>
          directive.Metrics.filter((m) => name === undefined || m.Name === name).map((m) => ({
            namespace: directive.Namespace,
            name: m.Name,
            unit: m.Unit,
            value: line[m.Name],
            dimensionSets: directive.Dimensions,
            line,
          })),
        );
      }),
    clear: () => {
      lines.length = 0;
    },
    stop: () => {
      for (const undo of restore.splice(0)) undo();
    },
  };
}

/** The JSON objects of a chunk made only of JSON-object lines, else undefined. */
function jsonLines(chunk: string): JsonLine[] | undefined {
  const texts = chunk.split("\n").filter((t) => t.trim() !== "");
  if (texts.length === 0 || !texts.every((t) => t.trimStart().startsWith("{"))) return undefined;
  try {
    return texts.map((t) => JSON.parse(t) as JsonLine);
  } catch {
    return undefined;
  }
}
