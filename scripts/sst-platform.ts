/**
 * Generates SST's platform types (.sst/platform: the components' sources and the Pulumi
 * provider types) so `tsc -p tsconfig.infra.json` can type-check sst.config.ts and stacks/
 * offline. `sst install` would also download Pulumi and Bun from outside the npm registry;
 * SST_SKIP_DEPENDENCY_CHECK skips that, and the npm package `bun` provides the Bun it runs to
 * install the provider packages (../shared/notes/sst4.md). Nothing is deployed.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const platformTypes = join(root, ".sst", "platform", "config.d.ts");

if (existsSync(platformTypes) && !process.argv.includes("--force")) process.exit(0);

const bun = join(root, "node_modules", "bun", "bin", "bun.exe");
const sst = join(root, "node_modules", ".bin", "sst");
for (const [what, path] of [
  ["bun (npm package bun)", bun],
  ["sst (npm package sst)", sst],
] as const) {
  if (!existsSync(path)) {
    process.stderr.write(`sst-platform: ${what} is missing at ${path}; run npm install\n`);
    process.exit(1);
  }
}
try {
  execFileSync(sst, ["install", "--stage", "typecheck"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      SST_SKIP_DEPENDENCY_CHECK: "1",
      SST_BUN_PATH: bun,
      SST_TELEMETRY_DISABLED: "1",
      // `sst install` evaluates app(), which reads the configuration; it needs no AWS.
      CI: "true",
    },
  });
} catch {
  process.stderr.write("sst-platform: `sst install` failed (see above)\n");
  process.exit(1);
}
if (!existsSync(platformTypes)) {
  process.stderr.write(`sst-platform: sst install did not write ${platformTypes}\n`);
  process.exit(1);
}
