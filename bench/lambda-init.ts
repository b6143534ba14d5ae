/**
 * Cold module initialisation of a Lambda bundle: a fresh Node.js process per measurement, with
 * the environment a deployed function sees, times `await import(bundle)` alone (process start
 * and Node's own bootstrap are outside it, as Lambda's runtime is up before it loads the
 * handler). The child also notes any network use during init (a TCP or pipe socket, a DNS
 * lookup, a UDP datagram such as an X-Ray segment), which init must not have.
 */
import { execFile } from "node:child_process";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import { lambdaEnvironment } from "./lambda-bundle.ts";

export interface InitMeasurement {
  /** Milliseconds from just before `await import(bundle)` to just after it. */
  readonly ms: number;
  /** `typeof` the module's `handler` export. */
  readonly handler: string;
  /** Network use seen during the import and the 20 ms after it. */
  readonly network: readonly string[];
}

// Plain JavaScript, run with --input-type=module: no TypeScript loader in the child.
const CHILD = `
import dc from "node:diagnostics_channel";
import dgram from "node:dgram";
import dns from "node:dns";
import { syncBuiltinESMExports } from "node:module";
const network = new Set();
dc.subscribe("net.client.socket", ({ socket }) => {
  network.add("tcp or pipe socket");
  socket.on("connectionAttempt", (ip, port) => network.add("tcp connect " + ip + ":" + port));
});
for (const target of [dns, dns.promises]) {
  for (const name of ["lookup", "resolve", "resolve4", "resolve6"]) {
    const original = target[name];
    target[name] = function (host, ...rest) {
      network.add("dns " + name + " " + host);
      return original.call(this, host, ...rest);
    };
  }
}
const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (...args) {
  network.add("udp send " + args.filter((a) => typeof a !== "function").slice(-2).join(":"));
  return send.apply(this, args);
};
syncBuiltinESMExports();
const url = process.argv[1];
const start = performance.now();
const loaded = await import(url);
const ms = performance.now() - start;
await new Promise((resolve) => setTimeout(resolve, 20));
const result = { ms, handler: typeof loaded.handler, network: [...network] };
process.stdout.write("\\n" + JSON.stringify(result) + "\\n");
process.exit(0);
`;

/** Imports `bundle` once in a new Node.js process (this one's executable) and times it. */
export function measureInit(bundle: string, functionName?: string): Promise<InitMeasurement> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", CHILD, pathToFileURL(bundle).href],
      {
        env: lambdaEnvironment(functionName),
        cwd: dirname(bundle),
        encoding: "utf8",
        maxBuffer: 1 << 24,
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`importing ${bundle} failed: ${stderr.trim() || error.message}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as InitMeasurement);
        } catch {
          reject(new Error(`importing ${bundle}: no measurement in its output: ${stdout}`));
        }
      },
    );
  });
}
