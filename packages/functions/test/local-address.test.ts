/**
 * Which address local mode puts in links and certificates. The shipped configuration names
 * none, so `npm start --port N` (run through npm itself, which takes `--port` for its own)
 * puts port N in every mail link, CRL distribution point and AIA URL; a configured
 * publicBaseUrl that is not where the service listens, or a CA certificate from an earlier
 * start on another port, is a start-up warning naming both.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import { listenForApi } from "../src/local/api-listener.ts";
import { recoverNpmOptions } from "../src/local/npm-arguments.ts";
import {
  freePortPair,
  issueThrough,
  mails,
  type Running,
  root,
  spawnWatched,
  startService,
  stop,
  waitFor,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "pki-address-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** `npm start ARGS` from the repository, as a user types it. */
const npmStart = (args: readonly string[]) =>
  spawnWatched("npm", ["start", ...args], {
    cwd: root,
    env: { ...process.env, npm_config_loglevel: "error" },
  });

/** The URLs in a certificate's CRL distribution point and AIA extensions, as OpenSSL reads them. */
function extensionUrls(pem: string): string[] {
  const file = join(work, `cert-${Date.now()}-${Math.random()}.pem`);
  writeFileSync(file, pem);
  const out = spawnSync(
    "openssl",
    ["x509", "-in", file, "-noout", "-ext", "crlDistributionPoints,authorityInfoAccess"],
    { encoding: "utf8" },
  );
  assert.equal(out.status, 0, out.stderr);
  return [...out.stdout.matchAll(/URI:(\S+)/g)].map((m) => m[1]!);
}

describe("local mode's public address", () => {
  test("npm start --port N: every link and certificate URL names port N", async (t) => {
    const port = await freePortPair();
    const dataDir = join(work, "npm-port");
    const started = npmStart(["--port", String(port), "--data-dir", dataDir]);
    t.after(() => {
      if (started.child.exitCode === null) started.child.kill("SIGKILL");
    });
    await waitFor(
      "npm start to say ready",
      async () => (started.output().includes("\nready") ? true : undefined),
      30_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}:\n${started.output()}`);
    });
    const info = JSON.parse(readFileSync(join(dataDir, "runtime.json"), "utf8"));
    const base = `http://127.0.0.1:${port}`;
    assert.equal(info.api, base);
    assert.equal(info.publicBaseUrl, base);
    assert.doesNotMatch(started.output(), /pki-local: warning/);
    // npm warns about the options it took; the service says how to pass them directly.
    assert.ok(
      started
        .output()
        .includes(`to pass them directly: npm start -- --port ${port} --data-dir ${dataDir}`),
      started.output(),
    );
    const s: Running = {
      child: started.child,
      dataDir,
      api: info.api,
      mail: info.mail,
      key: info.adminKey,
      output: started.output,
    };
    try {
      const { id, pem } = await issueThrough(
        s,
        ecCsrFor(work, "svc.example.internal", "DER"),
        "client",
        "dev@example.com",
      );
      const leafUrls = extensionUrls(pem);
      assert.ok(leafUrls.length >= 2, `CDP and AIA in:\n${pem}`);
      for (const url of leafUrls) assert.ok(url.startsWith(`${base}/`), url);
      // The issuing CA's certificate was made at this start: its links to the root name N too.
      const chain = await (await fetch(`${base}/v1/ca`)).text();
      const issuingUrls = extensionUrls(chain);
      assert.ok(issuingUrls.length >= 1);
      for (const url of issuingUrls) assert.ok(url.startsWith(`${base}/`), url);
      // What the URLs name is there.
      for (const url of [...leafUrls, ...issuingUrls]) {
        const res = await fetch(url);
        assert.equal(res.status, 200, url);
      }
      const mailed = await waitFor("the requester's mails", async () => {
        const all = (await mails(s)).filter((m) => m.body.text.includes(id));
        return all.length >= 2 ? all : undefined;
      });
      for (const mail of mailed) {
        const links = [...mail.body.text.matchAll(/https?:\/\/[^\s<>"]+/g)].map((m) => m[0]);
        assert.ok(links.length > 0, mail.subject);
        for (const link of links)
          assert.ok(link.startsWith(`${base}/`), `${mail.subject}: ${link}`);
      }
    } finally {
      process.kill(info.pid, "SIGTERM");
      assert.equal(await started.exited, 0, started.output());
    }

    // The same folder on another port: the CA certificate still names N, and start-up says so.
    const again = await startService(dataDir);
    try {
      assert.match(
        again.output(),
        new RegExp(
          `warning: the issuing CA's certificate points to ${base}/crl/[0-9a-f]{16}\\.crl .*this start names ${again.api}`,
        ),
      );
    } finally {
      await stop(again);
    }
  });

  test("a configured publicBaseUrl is kept, and a start-up warning names both addresses", async () => {
    const config = JSON.parse(readFileSync(join(root, "pki.config.json"), "utf8"));
    const configPath = join(work, "proxied.json");
    writeFileSync(
      configPath,
      JSON.stringify({ ...config, publicBaseUrl: "https://pki.example.com" }),
    );
    const s = await startService(join(work, "proxied"), { configPath });
    try {
      assert.match(
        s.output(),
        new RegExp(
          `warning: publicBaseUrl is https://pki\\.example\\.com in the configuration, but the service listens on ${s.api}`,
        ),
      );
      const { pem } = await issueThrough(
        s,
        ecCsrFor(work, "proxied.example.internal", "DER"),
        "client",
        "dev@example.com",
      );
      for (const url of extensionUrls(pem))
        assert.ok(url.startsWith("https://pki.example.com/"), url);
    } finally {
      await stop(s);
    }
  });

  test("npm start with two port options and no --: the exact command to run instead", async () => {
    const started = npmStart(["--port", "18787", "--mail-port", "18790"]);
    assert.equal(await started.exited, 2, started.output());
    assert.match(started.output(), /npm took --port and --mail-port for itself/);
    assert.match(
      started.output(),
      /Put -- before the service's options: npm start -- --port … --mail-port …/,
    );
  });

  test("a port in use is refused by name, with the option to change it", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(
        startService(join(work, "taken"), { port }),
        new RegExp(
          `PORT_IN_USE: The port is taken\\. Something already listens on 127\\.0\\.0\\.1:${port} .*--port N\\.`,
        ),
      );
    } finally {
      blocker.close();
    }
  });
});

describe("npm start's arguments", () => {
  const npm = (config: Record<string, string>) => ({
    npm_lifecycle_event: "start",
    ...Object.fromEntries(Object.entries(config).map(([k, v]) => [`npm_config_${k}`, v])),
  });

  test("outside npm start, the arguments are left alone", () => {
    assert.deepEqual(recoverNpmOptions(["--port", "1"], { npm_config_port: "true" }), {
      args: ["--port", "1"],
    });
  });

  test("one option npm took: its value is put back under its name", () => {
    const note =
      "npm took the options for itself (its next major version will refuse them), so they were put back; to pass them directly: npm start -- --port 18787";
    assert.deepEqual(recoverNpmOptions(["18787"], npm({ port: "true" })), {
      args: ["--port", "18787"],
      note,
    });
    assert.deepEqual(recoverNpmOptions([], npm({ port: "18787" })), {
      args: ["--port", "18787"],
      note,
    });
  });

  test("a port and a path: told apart by their values", () => {
    assert.deepEqual(
      recoverNpmOptions(["/tmp/d", "18787"], npm({ port: "true", data_dir: "true" })),
      {
        args: ["--port", "18787", "--data-dir", "/tmp/d"],
        note: "npm took the options for itself (its next major version will refuse them), so they were put back; to pass them directly: npm start -- --port 18787 --data-dir /tmp/d",
      },
    );
  });

  test("options after -- stay as they are", () => {
    assert.deepEqual(recoverNpmOptions(["18787", "--config", "x.json"], npm({ port: "true" })), {
      args: ["--port", "18787", "--config", "x.json"],
      note: "npm took the options for itself (its next major version will refuse them), so they were put back; to pass them directly: npm start -- --port 18787 --config x.json",
    });
  });

  test("two ports, or a value missing: an error naming the command to run", () => {
    const two = recoverNpmOptions(["1", "2"], npm({ port: "true", mail_port: "true" }));
    assert.ok("error" in two);
    assert.match(two.error, /npm start -- --port … --mail-port …/);
    const missing = recoverNpmOptions([], npm({ port: "true" }));
    assert.ok("error" in missing);
    assert.match(missing.error, /passed on only the value \(none\)|values \(none\)/);
  });
});

describe("the API's listener", () => {
  test("before the app is attached: 503 SERVICE_STARTING as a problem, then the app answers", async () => {
    const listener = await listenForApi(0);
    try {
      assert.equal(listener.url, `http://127.0.0.1:${listener.port}`);
      const early = await fetch(`${listener.url}/v1/crl`);
      assert.equal(early.status, 503);
      assert.equal(early.headers.get("content-type"), "application/problem+json");
      assert.equal(early.headers.get("retry-after"), "1");
      const body = (await early.json()) as { code: string; detail: string; instance: string };
      assert.equal(body.code, "SERVICE_STARTING");
      assert.equal(body.instance, "/v1/crl");
      assert.match(body.detail, /starting; try again/);
      listener.attach(() => new Response("ready"));
      assert.equal(await (await fetch(`${listener.url}/v1/crl`)).text(), "ready");
    } finally {
      await listener.close();
    }
  });
});
