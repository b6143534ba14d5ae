/**
 * A CRL of a million entries: built by the streaming encoder, read back by our parser entry
 * for entry, and verified by OpenSSL (GnuTLS on 10k entries: certtool takes over a minute for 100k).
 * Speed and memory figures live in `npm run bench`; this checks the output is right.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Authority } from "../src/ca/authority.ts";
import { buildCrl, type RevokedEntry } from "../src/crl/build.ts";
import { parseCrl } from "../src/crl/parse.ts";
import type { RevocationReason } from "../src/crl/reasons.ts";
import { encodePem } from "../src/encoding/pem.ts";
import type { DataFolderCa } from "../src/store/data-folder-ca.ts";
import { openssl } from "./support/openssl.ts";
import { tempCa } from "./support/test-ca.ts";
import { certtoolCrlVerify, opensslCrlVerify } from "./support/verifiers.ts";

const reasons: RevocationReason[] = [
  "unspecified",
  "keyCompromise",
  "superseded",
  "privilegeWithdrawn",
];
const FIRST = 1_767_225_600;

/** Entry i: a 16-byte serial that encodes i, so any entry can be recomputed from its index. */
function entry(i: number): RevokedEntry {
  return {
    serialHex: `5a${i.toString(16).padStart(30, "0")}`,
    revokedAt: FIRST + i,
    reason: reasons[i % reasons.length]!,
  };
}

function* entries(count: number): Generator<RevokedEntry> {
  for (let i = 0; i < count; i++) yield entry(i);
}

describe("a CRL with 1,000,000 entries", () => {
  let ca: DataFolderCa;
  let authority: Authority;
  before(async () => {
    ca = tempCa();
    await ca.init({ issuing: { keySpec: "ECC_NIST_P256" }, twoTier: false });
    authority = await ca.issuingAuthority();
  });
  after(() => rmSync(ca.dir, { recursive: true, force: true }));
  const write = (name: string, content: string) => {
    const path = join(ca.dir, name);
    writeFileSync(path, content);
    return path;
  };
  const caFile = () => write("ca.pem", encodePem("CERTIFICATE", authority.certificate.der));

  // Current, since GnuTLS refuses an expired CRL; whole seconds, as CRL times are.
  const thisUpdate = new Date(Math.floor(Date.now() / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + 7 * 86400_000);
  const build = (count: number) =>
    buildCrl(authority, {
      number: 4242n,
      thisUpdate,
      nextUpdate,
      entries: entries(count),
    });

  test("reads back every entry, in order, with its serial, time and reason", async () => {
    const count = 1_000_000;
    const crl = parseCrl(await build(count));
    assert.equal(crl.number, 4242n);
    assert.equal(crl.thisUpdate.getTime(), thisUpdate.getTime());
    assert.equal(crl.nextUpdate?.getTime(), nextUpdate.getTime());
    let i = 0;
    for (const read of crl.entries()) {
      const expected = entry(i);
      if (
        read.serialHex !== expected.serialHex ||
        read.revokedAt.getTime() !== expected.revokedAt * 1000 ||
        read.reason !== expected.reason
      ) {
        assert.fail(`entry ${i}: read ${JSON.stringify(read)}, built ${JSON.stringify(expected)}`);
      }
      i++;
    }
    assert.equal(i, count);
  });

  test("OpenSSL verifies it and re-encodes it byte for byte", async () => {
    const der = await build(1_000_000);
    const crlFile = write("big.crl.pem", encodePem("X509 CRL", der));
    const verdict = opensslCrlVerify(crlFile, caFile());
    assert.ok(verdict.ok, verdict.output);
    // OpenSSL decodes every entry into its own structures; writing them out again must give
    // back our exact bytes, so nothing in a million entries was misread or non-DER.
    const out = join(ca.dir, "reencoded.crl");
    openssl(["crl", "-in", crlFile, "-outform", "DER", "-out", out]);
    assert.ok(readFileSync(out).equals(der), "openssl's DER re-encoding differs from ours");
  });

  test("GnuTLS verifies a 10,000-entry CRL", async () => {
    const crlFile = write("crl.pem", encodePem("X509 CRL", await build(10_000)));
    const verdict = certtoolCrlVerify(crlFile, caFile());
    assert.ok(verdict.ok, verdict.output);
  });
});
