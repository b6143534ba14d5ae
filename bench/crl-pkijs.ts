/**
 * Child process: the same CRL as crl-build.ts, built directly with pkijs (one RevokedCertificate
 * object per entry, the whole TBS encoded by asn1js), signed by the same CA key, then the time
 * and this process's peak RSS as one JSON line. The reason our streaming encoder stays for CRLs.
 * Usage: node bench/crl-pkijs.ts DATA_DIR N OUT_FILE
 */
import { writeFileSync } from "node:fs";
import { parseCrl } from "@spca/core/crl/parse";
import { revocationReasons } from "@spca/core/crl/reasons";
import { OID } from "@spca/core/der/oids";
import { loadConfig } from "@spca/core/policy/config";
import { DataFolderCa } from "@spca/core/store/data-folder-ca";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { shippedConfig } from "./bench-ca.ts";
import { entriesDigest } from "./crl-entries-digest.ts";
import { benchEntries } from "./revoked-entries.ts";

const [dir, countText, out] = process.argv.slice(2);
const count = Number(countText);
if (!dir || !Number.isInteger(count) || count < 1 || !out) {
  console.error("usage: crl-pkijs.ts DATA_DIR N OUT_FILE");
  process.exit(2);
}
const authority = await new DataFolderCa(dir, loadConfig(shippedConfig)).issuingAuthority();
const rssBeforeKb = process.resourceUsage().maxRSS;
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const utc = (value: Date) => new pkijs.Time({ type: pkijs.TimeType.UTCTime, value });
const extension = (extnID: string, value: asn1js.BaseBlock) =>
  new pkijs.Extension({ extnID, extnValue: value.toBER(false) });

const started = process.hrtime.bigint();
const revoked: pkijs.RevokedCertificate[] = [];
for (const entry of benchEntries(count)) {
  const reason = revocationReasons[entry.reason];
  revoked.push(
    new pkijs.RevokedCertificate({
      // Minimal and positive: leading zero bytes dropped unless the next byte's top bit is set.
      userCertificate: new asn1js.Integer({
        valueHex: Buffer.from(entry.serialHex.replace(/^(00)+(?=[0-7])/, ""), "hex"),
      }),
      revocationDate: utc(new Date(entry.revokedAt * 1000)),
      ...(reason === 0
        ? {}
        : {
            crlEntryExtensions: new pkijs.Extensions({
              extensions: [extension(OID.reasonCode, new asn1js.Enumerated({ value: reason }))],
            }),
          }),
    }),
  );
}
const algorithm = pkijs.AlgorithmIdentifier.fromBER(authority.algorithm.identifier);
const crl = new pkijs.CertificateRevocationList({
  version: 1,
  signature: algorithm,
  issuer: pkijs.RelativeDistinguishedNames.fromBER(authority.certificate.subject),
  thisUpdate: utc(now),
  nextUpdate: utc(new Date(now.getTime() + 7 * 86400_000)),
  revokedCertificates: revoked,
  crlExtensions: new pkijs.Extensions({
    extensions: [
      extension(
        OID.authorityKeyIdentifier,
        new pkijs.AuthorityKeyIdentifier({
          keyIdentifier: new asn1js.OctetString({ valueHex: authority.keyIdentifier }),
        }).toSchema(),
      ),
      extension(OID.cRLNumber, new asn1js.Integer({ value: 1 })),
    ],
  }),
  signatureAlgorithm: algorithm,
});
// The TBS is the first element of toSchema(true). Framing the signed bytes with toSchema(false)
// would parse them back with asn1js, which refuses more than 10,000 nodes by default (about
// 1,500 entries), so the fields are encoded a second time instead.
const tbs = new Uint8Array(crl.toSchema(true).valueBlock.value[0]!.toBER(false));
crl.signatureValue = new asn1js.BitString({ valueHex: await authority.signer.sign(tbs) });
const der = new Uint8Array(crl.toSchema(true).toBER(false));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const peakRssKb = process.resourceUsage().maxRSS;
writeFileSync(out, der);

// Not timed: our reader must find every entry, as it does in our own builder's run.
let entries = 0;
for (const _ of parseCrl(der).entries()) entries++;
if (entries !== count) throw new Error(`pkijs's CRL holds ${entries} entries, expected ${count}`);

console.log(
  JSON.stringify({
    seconds,
    peakRssKb,
    rssBeforeKb,
    entries: entriesDigest(der),
    bytes: der.length,
  }),
);
