#!/usr/bin/env node
// The `pki` command. The CLI is TypeScript run by Node 24's type stripping; when started by
// an older Node (the machine's PATH), re-run it with the project's own Node 24.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const major = Number(process.versions.node.split(".")[0]);
const entry = fileURLToPath(new URL("../packages/functions/src/cli/main.ts", import.meta.url));
if (major >= 24) {
  await import(entry);
} else {
  const node24 = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
  if (!existsSync(node24)) {
    console.error(`pki: needs Node.js 24 (this is ${process.version}); run "npm install" first.`);
    process.exit(1);
  }
  const result = spawnSync(node24, [entry, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
