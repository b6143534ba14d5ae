/**
 * What a person reads when a JSON body, a query or the configuration is wrong (issue 18): a
 * sentence naming the problem, never valibot's own wording ("Invalid key: Expected never but
 * received …", "Invalid type: Expected string but received null"). An unknown key lists the
 * keys allowed there; a missing or malformed email says what is expected. Against `npm start`'s
 * runtime over HTTP, `npm start --config` and `pki --config`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ecCsrFor } from "../../core/test/support/openssl.ts";
import { pki } from "./support/cli.ts";
import {
  type EditableConfig,
  expectProblem,
  node,
  type Running,
  root,
  startService,
  stop,
  writeConfig,
} from "./support/local-service.ts";

const work = mkdtempSync(join(tmpdir(), "local-input-messages-"));
after(() => rmSync(work, { recursive: true, force: true }));

const SUBMIT_FIELDS = "csr, email, profile, comment, validityDays";
const CONFIG_FIELDS =
  "$schema, publicBaseUrl, ca, api, mail, crl, notifications, aws, enforcement, identity, profiles";

describe("JSON bodies and queries of the API", () => {
  let s: Running;
  before(async () => {
    s = await startService(join(work, "data"));
  });
  after(() => stop(s));

  const csr = (name: string) => ecCsrFor(work, `${name}.example.internal`).toString("utf8");
  const post = (path: string, body: unknown, contentType = "application/json") =>
    fetch(`${s.api}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": contentType },
      body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
    });
  /** The 400 problem's code, detail and problems. */
  const refusal = async (res: Response) => {
    const p = (await expectProblem(res, 400)) as unknown as {
      code: string;
      detail: string;
      problems?: string[];
    };
    return { code: p.code, detail: p.detail, problems: p.problems };
  };

  test("POST /v1/requests without email: accepted, the mails go to the key's owner", async () => {
    const res = await post("/v1/requests", { csr: csr("no-email"), profile: "client" });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    const view = await fetch(`${s.api}/v1/requests/${id}`, {
      headers: { authorization: `Bearer ${s.key}` },
    });
    assert.equal(((await view.json()) as { requester: string }).requester, "admin@example.com");
  });

  test("an email that is null, a number or not an address: one sentence", async () => {
    for (const email of [null, 5, "nobody", ""]) {
      assert.deepEqual(
        await refusal(
          await post("/v1/requests", { csr: csr("bad-email"), profile: "client", email }),
        ),
        {
          code: "BODY_INVALID",
          detail: "email: email must be an email address",
          problems: ["email: email must be an email address"],
        },
        `email ${JSON.stringify(email)}`,
      );
    }
  });

  test("an unknown field names the fields allowed: POST /v1/requests and POST /v1/keys", async () => {
    assert.deepEqual(
      await refusal(
        await post("/v1/requests", { csr: csr("colour"), profile: "client", colour: "red" }),
      ),
      {
        code: "BODY_INVALID",
        detail: `unknown field "colour": allowed fields are ${SUBMIT_FIELDS}`,
        problems: [`unknown field "colour": allowed fields are ${SUBMIT_FIELDS}`],
      },
    );
    assert.deepEqual(
      await refusal(
        await post("/v1/keys", { role: "requester", owner: "rita@example.com", colour: "red" }),
      ),
      {
        code: "BODY_INVALID",
        detail: 'unknown field "colour": allowed fields are role, owner, label',
        problems: ['unknown field "colour": allowed fields are role, owner, label'],
      },
    );
    // A missing field and an unknown one, both said.
    assert.equal(
      (await refusal(await post("/v1/requests", { csr: csr("both"), colour: "red" }))).detail,
      `profile is required; unknown field "colour": allowed fields are ${SUBMIT_FIELDS}`,
    );
  });

  test("an unknown query parameter of a raw submission names the parameters allowed", async () => {
    const der = ecCsrFor(work, "raw.example.internal", "DER");
    assert.deepEqual(
      await refusal(
        await post(
          "/v1/requests?profile=client&colour=red",
          new Uint8Array(der),
          "application/pkcs10",
        ),
      ),
      {
        code: "QUERY_INVALID",
        detail:
          'unknown query parameter "colour": allowed query parameters are email, profile, comment, validityDays',
        problems: [
          'unknown query parameter "colour": allowed query parameters are email, profile, comment, validityDays',
        ],
      },
    );
  });

  test("a body that is not a JSON object says what it is", async () => {
    for (const [body, what] of [
      ["[]", "an array"],
      ["null", "null"],
      ['"csr"', "a string"],
      ["42", "42"],
    ]) {
      assert.deepEqual(await refusal(await post("/v1/keys", body!)), {
        code: "BODY_INVALID",
        detail: `The body must be a JSON object, not ${what}.`,
        problems: undefined,
      });
    }
  });
});

describe("the configuration", () => {
  const configWith = (name: string, edit: (c: EditableConfig) => void) =>
    writeConfig(join(work, name), edit);

  test("npm start --config with an unknown key: the key, where, and the keys allowed there", () => {
    const path = configWith("colour.json", (c) => {
      c.colour = "red";
      c.profiles.client!.approval.colour = "blue";
    });
    const started = spawnSync(
      node,
      [
        join(root, "packages/functions/src/local/main.ts"),
        "--data-dir",
        join(work, "never"),
        "--port",
        "0",
        "--config",
        path,
      ],
      { encoding: "utf8", timeout: 30_000 },
    );
    assert.equal(started.status, 1);
    assert.equal(
      started.stderr,
      `pki-local: CONFIG_INVALID: The configuration file is invalid. ${path}: profiles.client.approval: unknown field "colour": the only allowed field is mode; unknown field "colour": allowed fields are ${CONFIG_FIELDS}\n`,
    );
  });

  test("pki --config with an unknown key or a malformed approver says the same", () => {
    const path = configWith("approver.json", (c) => {
      (c.ca as Record<string, unknown>).keySpec = "RSA_4096";
      c.profiles.server!.approval.approvers = ["security team"];
    });
    const r = pki(["ca", "show", "--config", path, "--data-dir", join(work, "never")]);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      `pki: CONFIG_INVALID: The configuration file is invalid. ${path}: ca: unknown field "keySpec": allowed fields are subject, rootSubject, validityDays, rootValidityDays; profiles.server.approval.approvers.0: "security team" is not an email address\n`,
    );
  });
});
