/** Approval secrets and the four-eyes approval plan. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { planApproval } from "../src/approvals/approvers.ts";
import { checkCsr } from "../src/csr/intake.ts";
import { isPkiError } from "../src/errors.ts";
import { hashSecret, isWellFormedSecret, newLinkSecret } from "../src/links/secrets.ts";
import { approvalUrl, requestPagePath } from "../src/notifications/messages.ts";
import { loadConfig } from "../src/policy/config.ts";
import { findProfile } from "../src/policy/evaluate.ts";
import { summariseCsr } from "../src/requests/request.ts";
import { newKeyCsrFor } from "./support/openssl.ts";
import { scratchDir } from "./support/scratch.ts";
import { shippedConfigPath } from "./support/test-ca.ts";

const config = loadConfig(shippedConfigPath);

describe("approval secrets", () => {
  test("carry 256 random bits, base64url, and differ every time", () => {
    const secrets = new Set(Array.from({ length: 1000 }, newLinkSecret));
    assert.equal(secrets.size, 1000);
    for (const secret of secrets) {
      assert.equal(Buffer.from(secret, "base64url").length, 32);
      assert.ok(isWellFormedSecret(secret));
    }
  });

  test("only well-formed secrets pass the shape check", () => {
    for (const bad of [
      "",
      "abc",
      `${newLinkSecret()}x`,
      "A".repeat(42),
      `${"A".repeat(42)}=`,
      `${"A".repeat(42)}+`,
    ]) {
      assert.equal(isWellFormedSecret(bad), false, bad);
    }
  });

  test("are stored as SHA-256 hex, never as themselves", () => {
    const secret = newLinkSecret();
    const hash = hashSecret(secret);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.notEqual(hash, secret);
    assert.equal(hashSecret(secret), hash);
  });

  test("the link is <base>/approvals/<id>?token=<secret>", () => {
    assert.equal(
      approvalUrl("https://ca.example.com/", "req 1", "s3cret"),
      "https://ca.example.com/approvals/req%201?token=s3cret",
    );
  });

  test("the status page is /requests/<id>?token=<secret>, on the public origin", () => {
    assert.equal(requestPagePath("req 1", "s3cret"), "/requests/req%201?token=s3cret");
  });
});

describe("planApproval", () => {
  test("automatic profiles need nobody", () => {
    assert.deepEqual(planApproval("client", findProfile(config, "client"), "dev@example.com"), {
      mode: "automatic",
      approvers: [],
      excluded: [],
      quorum: 0,
      timeoutSeconds: 0,
    });
  });

  test("manual profiles list the approvers, the quorum and the timeout in seconds", () => {
    assert.deepEqual(planApproval("server", findProfile(config, "server"), "dev@example.com"), {
      mode: "manual",
      approvers: ["security@example.com"],
      excluded: [],
      quorum: 1,
      timeoutSeconds: 168 * 3600,
    });
  });

  test("the requester under any alias of an approver's mailbox is left out, and named", () => {
    const profile = {
      ...findProfile(config, "server"),
      approval: {
        mode: "manual" as const,
        approvers: ["security@example.com", "platform@example.com"],
        quorum: 1,
        timeoutHours: 1,
      },
    };
    for (const alias of [
      "Security+me@Example.com",
      "SECURITY@example.com",
      "security+@example.com",
    ]) {
      const plan = planApproval("pair", profile, alias);
      assert.deepEqual(plan.approvers, ["platform@example.com"], alias);
      assert.deepEqual(plan.excluded, ["security@example.com"], alias);
    }
    // A different mailbox is a different person: dots and other local parts are not folded.
    assert.deepEqual(planApproval("pair", profile, "sec.urity@example.com").excluded, []);
    assert.deepEqual(planApproval("pair", profile, "security@example.org").excluded, []);
  });

  test("a fractional timeoutHours waits whole seconds (0.001 hours is 4 s)", () => {
    const profile = {
      ...findProfile(config, "server"),
      approval: {
        mode: "manual" as const,
        approvers: ["security@example.com"],
        quorum: 1,
        timeoutHours: 0.001,
      },
    };
    assert.equal(planApproval("server", profile, "dev@example.com").timeoutSeconds, 4);
  });

  test("a requester who is an approver gets no link (compared case-insensitively)", () => {
    const profile = {
      ...findProfile(config, "server-client"),
      approval: {
        mode: "manual" as const,
        approvers: ["security@example.com", "platform@example.com", "ops@example.com"],
        quorum: 2,
        timeoutHours: 72,
      },
    };
    const plan = planApproval("server-client", profile, "Platform@Example.com");
    assert.deepEqual(plan.approvers, ["security@example.com", "ops@example.com"]);
    assert.equal(plan.quorum, 2);
  });

  test("a quorum the others cannot meet is refused at submission", () => {
    // server-client: 2 of [security, platform]; platform asking leaves one approver.
    assert.throws(
      () =>
        planApproval("server-client", findProfile(config, "server-client"), "platform@example.com"),
      (e) =>
        isPkiError(e, "APPROVAL_QUORUM_UNREACHABLE") &&
        /needs 2 approval\(s\) from others, and only 1 approver\(s\) other than platform@example.com/.test(
          e.message,
        ),
    );
  });
});

describe("the CSR summary approvers are shown", () => {
  test("carries the key type and size as fields, for RSA and for each EC curve", () => {
    const dir = scratchDir("summary-");
    const request = (newKey: string[], name: string) =>
      summariseCsr(checkCsr(newKeyCsrFor(dir, name, newKey)));
    const rsa = request(["-newkey", "rsa:3072"], "rsa.example.com");
    assert.deepEqual([rsa.key, rsa.keyType, rsa.keyBits], ["RSA 3072", "RSA", 3072]);
    const ec = request(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "ec.example.com");
    assert.deepEqual([ec.key, ec.keyType, ec.keyBits], ["EC P-384", "EC P-384", 384]);
  });
});
