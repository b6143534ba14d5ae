/**
 * How a deployed function reads its configuration: the file the stacks bundle beside the
 * handler (a relative PKI_CONFIG_FILE, read from the function's directory) with the deployed
 * origin (PKI_PUBLIC_BASE_URL) in place of the file's local publicBaseUrl, validated again.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { isPkiError } from "@spca/core/errors";
import { shippedConfigPath } from "../../core/test/support/test-ca.ts";
import { settingsFromEnvironment } from "../src/lambda/settings.ts";

const taskRoot = mkdtempSync(join(tmpdir(), "pki-task-"));
copyFileSync(shippedConfigPath, join(taskRoot, "pki.config.json"));
after(() => rmSync(taskRoot, { recursive: true, force: true }));
const shippedConfig = () => JSON.parse(readFileSync(shippedConfigPath, "utf8"));

const base = {
  PKI_TABLE: "t",
  PKI_BUCKET: "b",
  PKI_EVENT_BUS: "e",
  PKI_CA_KEY_ID: "arn:aws:kms:eu-west-1:123456789012:key/k",
  LAMBDA_TASK_ROOT: taskRoot,
  PKI_CONFIG_FILE: "pki.config.json",
};

test("the bundled configuration is read from the task root, with the deployed origin", () => {
  const settings = settingsFromEnvironment({
    ...base,
    PKI_PUBLIC_BASE_URL: "https://d1abcdef.cloudfront.net/",
  });
  assert.equal(settings.config.publicBaseUrl, "https://d1abcdef.cloudfront.net");
  assert.ok(settings.config.profiles.server);
});

test("without PKI_PUBLIC_BASE_URL, the file's publicBaseUrl stands; with neither, an error names both", () => {
  const withFileUrl = settingsFromEnvironment({
    ...base,
    PKI_CONFIG_FILE: undefined,
    PKI_CONFIG: JSON.stringify({ ...shippedConfig(), publicBaseUrl: "https://pki.example.com" }),
  });
  assert.equal(withFileUrl.config.publicBaseUrl, "https://pki.example.com");
  assert.throws(
    () => settingsFromEnvironment(base),
    (e) =>
      isPkiError(e, "CONFIG_INVALID") &&
      /set PKI_PUBLIC_BASE_URL .* or publicBaseUrl in the configuration/.test(e.message),
  );
});

test("a deployed origin that is not a valid public base URL is a configuration error", () => {
  assert.throws(
    () => settingsFromEnvironment({ ...base, PKI_PUBLIC_BASE_URL: "ftp://example.com" }),
    (e) => isPkiError(e) && e.code === "CONFIG_INVALID" && /publicBaseUrl/.test(e.message),
  );
  assert.throws(
    () => settingsFromEnvironment({ ...base, PKI_CONFIG_FILE: "missing.json" }),
    (e) => isPkiError(e) && e.code === "CONFIG_INVALID" && /missing\.json/.test(e.message),
  );
});
