/**
 * Bundling a Lambda entry point the way SST 4 bundles a `nodejs24.x` function for deployment
 * (pkg/runtime/node/build.go: esbuild, ESM, its createRequire banner, KeepNames, minified, no
 * source map), with nothing external: the AWS SDK goes into the bundle too, which is the
 * conservative figure. Shared by `npm run bench -- lambdas` and
 * packages/functions/test/lambda-bundles.test.ts; the infrastructure can reuse it as well.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { type BuildOptions, build, type Message, type Metafile } from "esbuild";

const repository = fileURLToPath(new URL("..", import.meta.url));

/** Where the Lambda entry points live. */
export const LAMBDA_ROOT = join(repository, "packages", "functions", "src", "lambda");

/** The bench's output folder (bench/.work is git-ignored). */
export const BENCH_LAMBDA_OUT = join(repository, "bench", ".work", "lambdas");

/** The ESM banner SST puts on every Node.js function, so CommonJS dependencies still work. */
export const SST_ESM_BANNER =
  "import { createRequire as topLevelCreateRequire } from 'module';" +
  "const require = topLevelCreateRequire(import.meta.url);" +
  'import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url";' +
  "const __filename = topLevelFileUrlToPath(import.meta.url);" +
  'const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url));';

/**
 * SST 4's options for a deployed ESM function with `minify: true` (its default), minus the entry
 * and output. As in SST, keepNames is on (it costs a few per cent of size); SST's default target
 * is esnext, node24 is the runtime's. SST forces only `sharp` and `pg-native` external, which
 * nothing here imports.
 */
export const sstBundleOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  minify: true,
  keepNames: true,
  sourcemap: false,
  splitting: false,
  mainFields: ["module", "main"],
  banner: { js: SST_ESM_BANNER },
  external: [],
  metafile: true,
  write: true,
  logLevel: "silent",
} as const satisfies BuildOptions;

export interface LambdaBundle {
  /** The entry's path under src/lambda without `.ts` (`steps/sign-certificate`), or the file name. */
  readonly name: string;
  readonly entry: string;
  readonly outfile: string;
  /** Minified bundle size. */
  readonly bytes: number;
  /** gzip (zlib's default level 6) of the bundle: roughly what the deployment zip carries. */
  readonly gzipBytes: number;
  readonly warnings: readonly Message[];
  readonly metafile: Metafile;
}

/**
 * Every Lambda entry point: each `.ts` file under src/lambda (recursively) that exports
 * `handler`. Found afresh on each call, so new entries are picked up without a list to keep.
 */
export function findLambdaEntries(root: string = LAMBDA_ROOT): string[] {
  const entries: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (
        name.endsWith(".ts") &&
        !name.endsWith(".d.ts") &&
        /export const handler\b/.test(readFileSync(path, "utf8"))
      )
        entries.push(path);
    }
  };
  walk(root);
  return entries;
}

/** `steps/sign-certificate` for an entry under src/lambda, else the file name without `.ts`. */
export function lambdaName(entry: string, root: string = LAMBDA_ROOT): string {
  const rel = relative(root, entry);
  const inside = !rel.startsWith("..") && !rel.startsWith(sep);
  const name = inside ? rel : (entry.split(sep).at(-1) ?? entry);
  return name.replace(/\.ts$/, "").split(sep).join("/");
}

/**
 * Bundles one entry point to `outDir/<name>.mjs` with SST's options. Throws esbuild's error
 * (with its `errors` list) when the bundle cannot be built.
 */
export async function bundleLambda(
  entry: string,
  outDir: string,
  name: string = lambdaName(entry),
): Promise<LambdaBundle> {
  const outfile = join(outDir, `${name}.mjs`);
  const result = await build({ ...sstBundleOptions, entryPoints: [entry], outfile });
  const code = readFileSync(outfile);
  return {
    name,
    entry,
    outfile,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    warnings: result.warnings,
    metafile: result.metafile,
  };
}

/** Imports left outside the bundle that are not Node.js built-ins (there should be none). */
export function unbundledImports(metafile: Metafile): string[] {
  const found = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) {
      // "<runtime>" is esbuild's own helper module, not an import of ours.
      if (imported.external && imported.path !== "<runtime>" && !isBuiltin(imported.path))
        found.add(imported.path);
    }
  }
  return [...found].sort();
}

/** Bytes in the bundle per package (`@aws-sdk/client-s3`, `hono`, `@spca/core`, ...), largest first. */
export function bytesByPackage(bundle: LambdaBundle): { name: string; bytes: number }[] {
  // One output: no source map, no splitting.
  const [output] = Object.values(bundle.metafile.outputs);
  const totals = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output!.inputs)) {
    const name = packageOf(path);
    totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
  }
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

function packageOf(path: string): string {
  const modules = path.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const [scope, name] = path.slice(modules + "node_modules/".length).split("/");
    return scope!.startsWith("@") ? `${scope}/${name}` : scope!;
  }
  const workspace = /(?:^|\/)packages\/([^/]+)\//.exec(path);
  if (workspace) return `@spca/${workspace[1]}`;
  return path.startsWith("bench/") ? "bench" : path;
}

/**
 * The environment a deployed function sees at init, as plausible values: the stacks' variables
 * (PKI_CONFIG holds pki.config.json), Lambda's own, dummy credentials (so nothing goes looking
 * for others) and tracing off. Nothing is inherited from this process, and there is no
 * `_X_AMZN_TRACE_ID`.
 */
export function lambdaEnvironment(functionName = "pki-api"): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    TZ: ":UTC",
    LANG: "en_US.UTF-8",
    PKI_TABLE: "pki-bench-table",
    PKI_BUCKET: "pki-bench-bucket",
    PKI_EVENT_BUS: "pki-bench-bus",
    PKI_CA_KEY_ID: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    PKI_STATE_MACHINE_ARN: "arn:aws:states:us-east-1:111122223333:stateMachine:pki-bench",
    PKI_CONFIG: readFileSync(join(repository, "pki.config.json"), "utf8"),
    PKI_PUBLIC_BASE_URL: "https://d1abcdef.cloudfront.net",
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "1024",
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef",
    AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    AWS_SESSION_TOKEN: "bench-session-token",
    POWERTOOLS_SERVICE_NAME: "pki",
    POWERTOOLS_TRACE_ENABLED: "false",
    POWERTOOLS_METRICS_NAMESPACE: "pki",
    POWERTOOLS_DEV: "false",
  };
}
