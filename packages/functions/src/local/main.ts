/**
 * `npm start`: the whole service locally. Options: --port (or $PORT, default 8787),
 * --mail-port (default port + 1: the SES stand-in and its mail viewer), --oidc-port (the OpenID
 * provider stand-in; default any free port), --data-dir, --config.
 */
import { parseArgs } from "node:util";
import { isPkiError } from "@spca/core/errors";
import { configPath, dataDirPath } from "../locations.ts";
import { recoverNpmOptions } from "./npm-arguments.ts";
import { startRuntime } from "./runtime.ts";

function port(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    console.error(`pki-local: ${name} must be a port number (0-65535), not "${text}"`);
    process.exit(2);
  }
  return Number(text);
}

const recovered = recoverNpmOptions(process.argv.slice(2), process.env);
if ("error" in recovered) {
  console.error(`pki-local: ${recovered.error}`);
  process.exit(2);
}
if (recovered.note) console.error(`pki-local: ${recovered.note}`);
let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    args: recovered.args,
    options: {
      port: { type: "string" },
      "mail-port": { type: "string" },
      "oidc-port": { type: "string" },
      "data-dir": { type: "string" },
      config: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  }));
} catch (e) {
  console.error(`pki-local: ${(e as Error).message}`);
  process.exit(2);
}
if (values.help) {
  console.log(
    "Usage: npm start -- [--port N] [--mail-port N] [--oidc-port N] [--data-dir DIR] [--config FILE]",
  );
  process.exit(0);
}
const apiPort = port((values.port as string | undefined) ?? process.env.PORT, 8787, "--port");
const mailPort = port(
  values["mail-port"] as string | undefined,
  apiPort === 0 ? 0 : apiPort + 1,
  "--mail-port",
);
const dataDir = dataDirPath(values["data-dir"] as string | undefined);

try {
  const runtime = await startRuntime({
    dataDir,
    port: apiPort,
    mailPort,
    oidcPort: port(values["oidc-port"] as string | undefined, 0, "--oidc-port"),
    configPath: configPath(values.config as string | undefined),
  });
  const { info } = runtime;
  for (const warning of runtime.warnings) console.error(`pki-local: warning: ${warning}`);
  console.log(`API          ${info.api}   (OpenAPI: ${info.api}/openapi.json)`);
  console.log(`Mail viewer  ${info.mail}`);
  console.log(
    `S3 bucket    ${info.s3}/${info.bucket}   (published CRL and CA objects: crl/, ca/, truststore.pem)`,
  );
  console.log(
    `mTLS gateway ${info.mtlsGateway}   (ALB trust store stand-in: published bundle and CRL)`,
  );
  console.log(`API Gateway  ${info.apiGateway}   (mutual TLS, the mTLS authorizer checks the CRL)`);
  console.log(
    `Sign-in      ${info.oidc.issuer}   (${info.oidc.clientId ? "OpenID provider stand-in: users from identity.localUsers" : "identity.oidc"}; pages: ${info.api}/sign-in)`,
  );
  console.log(`Data folder  ${dataDir}   (runtime.json holds these URLs and the admin key)`);
  if (runtime.firstStart)
    console.log(`Admin key    ${info.adminKey}   (shown once; also in runtime.json)`);
  console.log("ready");
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await runtime.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (error) {
  console.error(
    `pki-local: ${isPkiError(error) ? `${error.code}: ` : ""}${(error as Error).message}`,
  );
  process.exit(1);
}
