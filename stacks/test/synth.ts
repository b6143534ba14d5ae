/**
 * Runs sst.config.ts offline and returns every resource it would create, with its inputs: the
 * real SST components and Pulumi AWS provider code, under Pulumi's mocks instead of a cloud.
 * It mirrors how `sst deploy` evaluates the config (SST's Go CLI bundles sst.config.ts with
 * esbuild, defines $app/$cli/$dev, injects platform/src/shim/run.js and sets the provider
 * globals)
 * and stands in for the CLI's RPC server: Runtime.Build bundles each function with esbuild the
 * way SST does (bench/lambda-bundle.ts), so a handler path that does not build fails here.
 *
 * Each synthesis runs in its own Node process (Pulumi's runtime state is global).
 */
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import * as esbuild from "esbuild";

const root = join(import.meta.dirname, "..", "..");
const platform = join(root, ".sst", "platform");

export interface SynthResource {
  readonly type: string;
  readonly name: string;
  readonly id: string;
  readonly inputs: Record<string, unknown>;
  /** What AWS would add (ARNs, generated names), as the mocks answer it. */
  readonly outputs: Record<string, unknown>;
  /** An existing resource the program reads (Resource.get): the deploy creates nothing. */
  readonly read?: boolean;
  /** Resource options that matter to safety (protect, retainOnDelete) and to who owns what
   * (ignoreChanges: a property the deploy leaves to someone else). */
  readonly options: { protect?: boolean; retainOnDelete?: boolean; ignoreChanges?: string[] };
  /** The id of the explicit provider it is created with (another Region's), if any. */
  readonly provider?: string;
}

export interface Synthesis {
  readonly resources: SynthResource[];
  readonly outputs: Record<string, unknown>;
  /** The handlers SST asked to build, with the bundle directory each produced. */
  readonly builds: { functionID: string; handler: string; out: string }[];
}

export interface SynthOptions {
  readonly stage: string;
  /** The configuration file (PKI_CONFIG); default the project's pki.config.json. */
  readonly configPath?: string;
  /** Where bundles and the synthesis program go; default a folder under .sst/synth. */
  readonly workDir?: string;
  /** Who deploys (aws.getCallerIdentity's ARN); default a session of the role "deployer". */
  readonly callerArn?: string;
  /** More of the deploy's environment (PKI_EXAMPLE_MTLS_*: the example API). */
  readonly env?: Readonly<Record<string, string>>;
}

const run = promisify(execFile);
const projectRequire = createRequire(join(root, "package.json"));

let appEvaluations: Promise<unknown> = Promise.resolve();
let synthesisCount = 0;

/**
 * What sst.config.ts's app() returns for the stage: SST evaluates it first and defines $app
 * from it when it builds the program (the components read $app as they load).
 */
async function evaluateApp(workDir: string, stage: string, configPath: string) {
  const identity = join(workDir, "config-identity.mjs");
  writeFileSync(identity, "export const $config = (config) => config;\n");
  const outfile = join(workDir, "app.mjs");
  await esbuild.build({
    entryPoints: [join(root, "sst.config.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "silent",
    inject: [identity],
  });
  const previous = process.env.PKI_CONFIG;
  process.env.PKI_CONFIG = configPath;
  try {
    const mod = (await import(pathToFileURL(outfile).href)) as {
      default: { app(input: { stage: string }): Promise<Record<string, unknown>> };
    };
    return { ...(await mod.default.app({ stage })), stage };
  } finally {
    if (previous === undefined) delete process.env.PKI_CONFIG;
    else process.env.PKI_CONFIG = previous;
  }
}

/** Bundles the synthesis program for one work folder. */
async function buildProgram(workDir: string, app: Record<string, unknown>): Promise<string> {
  // Splitting keeps sst.config.ts's dynamic import() a real ES module import, as in SST's
  // build: without it esbuild wraps the modules in lazy initialisers, and the platform's
  // circular imports then load out of order.
  const outdir = join(platform, ".synth", workDir.replace(/[^a-z0-9]/gi, "_"));
  await esbuild.build({
    stdin: {
      contents: `
        import { runtime, output } from "@pulumi/pulumi";
        import * as aws from "@pulumi/aws";
        import * as sst from ${JSON.stringify(join(platform, "src/components/index.ts"))};
        import { run } from ${JSON.stringify(join(platform, "src/auto/run.ts"))};
        import { startRpc, mocks } from ${JSON.stringify(join(import.meta.dirname, "synth-mocks.ts"))};
        import mod from ${JSON.stringify(join(root, "sst.config.ts"))};
        // As SST does: the provider and component namespaces are globals of the program.
        globalThis.aws = aws;
        globalThis.sst = sst;
        const stage = process.env.SYNTH_STAGE;
        const rpc = await startRpc(process.env.SYNTH_WORK);
        process.env.SST_SERVER = rpc.url;
        const recorder = mocks();
        await runtime.setMocks(recorder.mocks, globalThis.__sstApp.name, stage, false);
        let resolved;
        // As the Pulumi engine runs a program: inside the root stack resource.
        await runtime.runInPulumiStack(async () => {
          recorder.watchOptions();
          const outputs = await run(mod.run);
          resolved = await new Promise((resolve) => output(outputs).apply(resolve));
          return outputs;
        });
        await recorder.settled();
        rpc.close();
        recorder.write(process.env.SYNTH_RESULT, resolved, rpc.builds);
      `,
      resolveDir: root,
      sourcefile: "synth-entry.ts",
      loader: "ts",
    },
    outdir,
    splitting: true,
    entryNames: "program",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    logLevel: "silent",
    define: {
      $app: "globalThis.__sstApp",
      $cli: "globalThis.__sstCli",
      $dev: "false",
    },
    inject: [join(platform, "src/shim/run.js")],
    banner: {
      js: [
        `import { createRequire as __synthRequire } from "module";`,
        `const require = __synthRequire(import.meta.url);`,
        `globalThis.__sstApp = ${JSON.stringify(app)};`,
        `globalThis.__sstCli = ${JSON.stringify({
          command: "deploy",
          rpc: "",
          paths: { home: join(workDir, "home"), root, work: workDir, platform },
          state: { version: {} },
        })};`,
      ].join("\n"),
    },
    plugins: [
      {
        // SST's platform packages (Pulumi, the AWS SDK v3 it uses, archiver...) load from
        // .sst/platform/node_modules at run time, next to the program; our code is bundled.
        name: "platform-externals",
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith("node:")) return { external: true };
            // esbuild finds its binary relative to its own files: load the project's copy.
            if (args.path === "esbuild")
              return { path: projectRequire.resolve("esbuild"), external: true };
            if (args.importer.startsWith(platform) || args.path.startsWith("@pulumi/")) {
              return { path: args.path, external: true };
            }
            return undefined;
          });
        },
      },
    ],
  });
  return join(outdir, "program.mjs");
}

export async function synthesize(options: SynthOptions): Promise<Synthesis> {
  // The platform sources are generated, not committed (npm run typecheck:infra makes them).
  await run(process.execPath, [join(root, "scripts", "sst-platform.ts")], { cwd: root });
  // The sequence number keeps two syntheses of one stage, started in the same millisecond
  // (Promise.all), out of each other's folder.
  const workDir =
    options.workDir ??
    join(
      root,
      ".sst",
      "synth",
      `${options.stage}-${process.pid}-${Date.now()}-${++synthesisCount}`,
    );
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(join(workDir, "home"), { recursive: true });
  mkdirSync(join(platform, ".synth"), { recursive: true });
  const configPath = options.configPath ?? join(root, "pki.config.json");
  // app() reads PKI_CONFIG from this process's environment: one evaluation at a time, or
  // syntheses started together would read each other's configuration.
  const evaluation = appEvaluations.then(() => evaluateApp(workDir, options.stage, configPath));
  appEvaluations = evaluation.catch(() => undefined);
  const app = await evaluation;
  const program = await buildProgram(workDir, app);
  const result = join(workDir, "synthesis.json");
  try {
    await run(process.execPath, [program], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        SYNTH_STAGE: options.stage,
        SYNTH_WORK: workDir,
        SYNTH_RESULT: result,
        PKI_CONFIG: configPath,
        ...(options.callerArn ? { SYNTH_CALLER_ARN: options.callerArn } : {}),
        ...options.env,
        SST_TELEMETRY_DISABLED: "1",
      },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    const error = e as Error & { stderr?: string; stdout?: string };
    throw new Error(
      `synthesis failed: ${error.message}\n${error.stderr ?? ""}${error.stdout ?? ""}`,
    );
  } finally {
    if (!process.env.SYNTH_KEEP) rmSync(dirname(program), { recursive: true, force: true });
  }
  return JSON.parse(readFileSync(result, "utf8")) as Synthesis;
}
