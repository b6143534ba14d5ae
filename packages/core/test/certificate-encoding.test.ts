/**
 * The bytes of what the CA builds with pkijs, pinned where pkijs could choose differently from
 * what we intend: the order and criticality of extensions, each extension's encoding, string
 * types in names, UTCTime and GeneralizedTime around 2050, the serial, and key usage by key
 * type and purpose. Expected values are written out here by hand, not with the code under test.
 */
import assert from "node:assert/strict";
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, test } from "node:test";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { type Authority, openAuthority } from "../src/ca/authority.ts";
import { createIssuingCertificate, createRootCertificate } from "../src/ca/create.ts";
import { issueCertificate } from "../src/certificate/issue.ts";
import { signCertificate } from "../src/certificate/signed.ts";
import { certificateObject, x509Time } from "../src/certificate/tbs.ts";
import { checkCsr } from "../src/csr/intake.ts";
import { OID } from "../src/der/oids.ts";
import { contextTag, DerReader, Tag } from "../src/der/reader.ts";
import { printableString, utf8String } from "../src/der/writer.ts";
import { encodePem } from "../src/encoding/pem.ts";
import { loadConfig } from "../src/policy/config.ts";
import { evaluatePolicy, findProfile } from "../src/policy/evaluate.ts";
import { generateKey, LocalSigner } from "../src/signer/local-signer.ts";
import type { Signer } from "../src/signer/signer.ts";
import { parseCertificate } from "../src/x509/certificate.ts";
import { nameObject } from "../src/x509/name.ts";
import * as csr from "./support/csr-builder.ts";
import { openssl } from "./support/openssl.ts";
import { rejectsWith } from "./support/pki-error.ts";
import { shippedConfigPath } from "./support/test-ca.ts";
import { ChainFiles, opensslVerify } from "./support/verifiers.ts";

const BASE = "https://pki.example.com";
const config = loadConfig(shippedConfigPath);

// Hand-written DER, independent of the encoders under test.
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const len = (n: number): string =>
  n < 0x80 ? n.toString(16).padStart(2, "0") : `81${n.toString(16).padStart(2, "0")}`;
const tlv = (tag: string, content: string): string => `${tag}${len(content.length / 2)}${content}`;
const ascii = (text: string): string => Buffer.from(text, "latin1").toString("hex");

/** The whole Extension elements of a certificate, in order, as they are in its DER. */
function extensionElements(der: Uint8Array): string[] {
  const tbs = new DerReader(der).enter(Tag.SEQUENCE).enter(Tag.SEQUENCE);
  while (tbs.peekTag() !== contextTag(3, true)) tbs.next();
  const list = tbs.enter(contextTag(3, true)).enter(Tag.SEQUENCE);
  const out: string[] = [];
  while (!list.atEnd()) out.push(hex(list.raw(list.next(Tag.SEQUENCE))));
  return out;
}

function keyIdOf(spki: Uint8Array): string {
  const info = new DerReader(spki).enter(Tag.SEQUENCE);
  info.next(Tag.SEQUENCE);
  return createHash("sha1").update(info.bitString().bytes).digest("hex");
}

const spkiOf = (key: KeyObject): Uint8Array =>
  new Uint8Array(createPublicKey(key).export({ format: "der", type: "spki" }));

/** A CA pair made at `now`: a root and an issuing CA under it, P-256 both. */
async function caPair(
  now: Date,
  rootDays = 3650,
): Promise<{ root: Authority; issuing: Authority }> {
  const rootSigner = new LocalSigner(generateKey("ECC_NIST_P256").privateKey, "test root");
  const rootDer = await createRootCertificate(rootSigner, {
    subject: [
      { type: "CN", value: "Pinned Root" },
      { type: "O", value: "Example" },
      { type: "C", value: "DE" },
    ],
    validityDays: rootDays,
    now,
  });
  const root = await openAuthority(rootDer, [], rootSigner, BASE);
  const issuingSigner = new LocalSigner(generateKey("ECC_NIST_P256").privateKey, "test issuing");
  const issuingDer = await createIssuingCertificate(root, await issuingSigner.publicKey(), {
    subject: [{ type: "CN", value: "Pinned Issuing" }],
    validityDays: 1825,
    now,
  });
  const issuing = await openAuthority(issuingDer, [rootDer], issuingSigner, BASE);
  return { root, issuing };
}

const keys = {
  ec: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey,
  rsa: generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
};

/** A CSR for `key` with `subject` and SAN GeneralName elements, signed by the key. */
function request(key: KeyObject, subject: Uint8Array, sans: Uint8Array[]): Uint8Array {
  const rsa = key.asymmetricKeyType === "rsa";
  return csr.buildCsr({
    subject,
    spki: spkiOf(key),
    attributes: csr.attributes(csr.extensionRequest(csr.sanExtension(sans))),
    ...csr.signerFor(key, rsa ? "RSASSA_PKCS1_V1_5_SHA_256" : "ECDSA_SHA_256"),
  });
}

async function issue(
  authority: Authority,
  der: Uint8Array,
  profile: string,
  now = new Date(),
): Promise<Uint8Array> {
  const checked = checkCsr(der);
  const decision = evaluatePolicy(checked, profile, findProfile(config, profile));
  return (await issueCertificate(authority, checked, decision, now)).der;
}

// The leaf's fixed elements, by hand.
const BC_LEAF = "300c0603551d130101ff04023000";
const KU_SIGN = "300e0603551d0f0101ff040403020780"; // digitalSignature
const KU_SIGN_ENCIPHER = "300e0603551d0f0101ff0404030205a0"; // + keyEncipherment
const EKU_SERVER = "30130603551d25040c300a06082b06010505070301";
const EKU_CLIENT = "30130603551d25040c300a06082b06010505070302";
const EKU_BOTH = "301d0603551d250416301406082b0601050507030106082b06010505070302";
const ski = (spki: Uint8Array) => tlv("30", `0603551d0e${tlv("04", tlv("04", keyIdOf(spki)))}`);
const aki = (keyId: Uint8Array) =>
  tlv("30", `0603551d23${tlv("04", tlv("30", tlv("80", hex(keyId))))}`);
const cdp = (url: string) =>
  tlv(
    "30",
    `0603551d1f${tlv("04", tlv("30", tlv("30", tlv("a0", tlv("a0", tlv("86", ascii(url)))))))}`,
  );
const aia = (url: string) =>
  tlv(
    "30",
    `06082b06010505070101${tlv("04", tlv("30", tlv("30", `06082b06010505073002${tlv("86", ascii(url))}`)))}`,
  );

describe("leaf certificates", async () => {
  const { issuing } = await caPair(new Date());

  test("extensions in a fixed order, each with the intended bytes and criticality", async () => {
    const der = await issue(
      issuing,
      request(keys.ec, csr.cnName("a.example.internal"), [
        csr.dnsName("a.example.internal"),
        csr.ipName(Uint8Array.of(10, 1, 2, 3)),
        csr.ipName(Uint8Array.of(0xfd, ...new Array<number>(14).fill(0), 1)),
      ]),
      "server",
    );
    const san = tlv(
      "30",
      `0603551d11${tlv(
        "04",
        tlv(
          "30",
          tlv("82", ascii("a.example.internal")) +
            tlv("87", "0a010203") +
            tlv("87", "fd000000000000000000000000000001"),
        ),
      )}`,
    );
    assert.deepEqual(extensionElements(der), [
      BC_LEAF,
      KU_SIGN,
      EKU_SERVER,
      ski(spkiOf(keys.ec)),
      aki(issuing.keyIdentifier),
      san,
      cdp(issuing.urls.crl),
      aia(issuing.urls.caCertificate),
    ]);
  });

  test("an empty subject makes the SAN extension critical (RFC 5280 4.2.1.6); email and URI SANs are IA5Strings", async () => {
    const der = await issue(
      issuing,
      request(keys.ec, csr.name(), [
        csr.rawString(0x81, "x@example.com"),
        csr.rawString(0x86, "spiffe://example.internal/a"),
      ]),
      "client",
    );
    const cert = parseCertificate(der);
    assert.equal(hex(cert.subject), "3000");
    const san = extensionElements(der)[5]!;
    assert.equal(
      san,
      tlv(
        "30",
        `0603551d110101ff${tlv(
          "04",
          tlv(
            "30",
            tlv("81", ascii("x@example.com")) + tlv("86", ascii("spiffe://example.internal/a")),
          ),
        )}`,
      ),
    );
  });

  test("the subject keeps the request's own string types and bytes; the issuer is the CA's subject byte for byte", async () => {
    const subject = csr.name(
      csr.rdn(csr.atv(OID.commonName, printableString("b.example.internal"))),
      csr.rdn(csr.atv(OID.organizationName, utf8String("Exämple"))),
    );
    const der = await issue(
      issuing,
      request(keys.ec, subject, [csr.dnsName("b.example.internal")]),
      "server-client",
    );
    const cert = parseCertificate(der);
    assert.equal(
      hex(cert.subject),
      tlv(
        "30",
        tlv("31", tlv("30", `0603550403${tlv("13", ascii("b.example.internal"))}`)) +
          tlv("31", tlv("30", `060355040a${tlv("0c", hex(Buffer.from("Exämple", "utf8")))}`)),
      ),
    );
    assert.equal(hex(cert.issuer), hex(issuing.certificate.subject));
  });

  test("a positive 16-byte serial and version 3", async () => {
    const der = await issue(
      issuing,
      request(keys.ec, csr.cnName("c.example.internal"), [csr.dnsName("c.example.internal")]),
      "server",
    );
    const cert = parseCertificate(der);
    assert.equal(cert.version, 2);
    const tbs = new DerReader(der).enter(Tag.SEQUENCE).enter(Tag.SEQUENCE);
    assert.equal(hex(tbs.raw(tbs.next(contextTag(0, true)))), "a003020102");
    const serial = tbs.raw(tbs.next(Tag.INTEGER));
    assert.equal(serial.length, 18);
    assert.equal(serial[1], 16);
    assert.ok(serial[2]! > 0 && serial[2]! < 0x80, "positive, no leading zero byte");
  });

  for (const [profile, ekuElement, rsaKeyUsage] of [
    ["server", EKU_SERVER, KU_SIGN_ENCIPHER],
    ["client", EKU_CLIENT, KU_SIGN],
    ["server-client", EKU_BOTH, KU_SIGN_ENCIPHER],
  ] as const) {
    test(`profile ${profile}: RSA keys get ${rsaKeyUsage === KU_SIGN ? "digitalSignature alone" : "digitalSignature and keyEncipherment"}, EC keys digitalSignature`, async () => {
      const sans = [csr.dnsName("d.example.internal")];
      for (const [key, expected] of [
        [keys.rsa, rsaKeyUsage],
        [keys.ec, KU_SIGN],
      ] as const) {
        const der = await issue(
          issuing,
          request(key, csr.cnName("d.example.internal"), sans),
          profile,
        );
        const [, keyUsage, eku] = extensionElements(der);
        assert.equal(keyUsage, expected, `${key.asymmetricKeyType} key, ${profile}`);
        assert.equal(eku, ekuElement);
      }
    });
  }
});

describe("CA certificates", async () => {
  const { root, issuing } = await caPair(new Date());

  test("the root: CA basic constraints without a path length, keyCertSign and cRLSign, SKI = AKI", () => {
    const der = root.certificate.der;
    const keyId = hex(root.keyIdentifier);
    assert.equal(keyId, keyIdOf(root.certificate.spki));
    assert.deepEqual(extensionElements(der), [
      "300f0603551d130101ff040530030101ff",
      "300e0603551d0f0101ff040403020106",
      ski(root.certificate.spki),
      aki(root.keyIdentifier),
    ]);
  });

  test("the root's name: one attribute per RDN, PrintableString for C and UTF8String otherwise", () => {
    const expected = tlv(
      "30",
      tlv("31", tlv("30", `0603550403${tlv("0c", ascii("Pinned Root"))}`)) +
        tlv("31", tlv("30", `060355040a${tlv("0c", ascii("Example"))}`)) +
        tlv("31", tlv("30", `0603550406${tlv("13", ascii("DE"))}`)),
    );
    assert.equal(hex(root.certificate.subject), expected);
    assert.equal(hex(root.certificate.issuer), expected);
  });

  test("the issuing CA: path length 0, digitalSignature too, and where the root publishes", () => {
    assert.deepEqual(extensionElements(issuing.certificate.der), [
      "30120603551d130101ff040830060101ff020100",
      "300e0603551d0f0101ff040403020186",
      ski(issuing.certificate.spki),
      aki(root.keyIdentifier),
      cdp(root.urls.crl),
      aia(root.urls.caCertificate),
    ]);
    assert.equal(hex(issuing.certificate.issuer), hex(root.certificate.subject));
  });

  test("a name built for a CA encodes each value as given, multi-byte UTF-8 included", () => {
    const name = nameObject([{ type: "CN", value: "Ünïcode CA" }]);
    assert.equal(
      hex(new Uint8Array(name.toSchema().toBER(false))),
      tlv("30", tlv("31", tlv("30", `0603550403${tlv("0c", hex(Buffer.from("Ünïcode CA")))}`))),
    );
  });
});

describe("times around 2050 (RFC 5280 4.1.2.5)", () => {
  test("UTCTime through 2049, GeneralizedTime from 2050, whole seconds only", () => {
    const bytes = (date: Date) => hex(new Uint8Array(x509Time(date).toSchema().toBER(false)));
    assert.equal(bytes(new Date("2049-12-31T23:59:59.999Z")), tlv("17", ascii("491231235959Z")));
    assert.equal(bytes(new Date("2050-01-01T00:00:00.000Z")), tlv("18", ascii("20500101000000Z")));
    assert.equal(bytes(new Date("2050-01-01T00:00:00.750Z")), tlv("18", ascii("20500101000000Z")));
    assert.equal(bytes(new Date("1950-01-01T00:00:00Z")), tlv("17", ascii("500101000000Z")));
    assert.throws(() => x509Time(new Date("1949-12-31T23:59:59Z")), /cannot be encoded/);
  });

  test("a leaf that starts in 2049 and ends in 2050 carries one of each, and OpenSSL verifies it in 2050", async () => {
    const start = new Date("2049-12-20T12:00:00Z");
    const { root, issuing } = await caPair(start);
    const der = await issue(
      issuing,
      request(keys.ec, csr.cnName("e.example.internal"), [csr.dnsName("e.example.internal")]),
      "client",
      start,
    );
    const cert = parseCertificate(der);
    assert.equal(cert.notAfter.getUTCFullYear(), 2050);
    const tbs = hex(der);
    // notBefore is backdated by the policy; the pair is UTCTime then GeneralizedTime.
    assert.match(tbs, new RegExp(`3020170d${ascii("4912")}[0-9a-f]{18}180f${ascii("2050")}`));
    const files = new ChainFiles(encodePem("CERTIFICATE", der), [
      encodePem("CERTIFICATE", issuing.certificate.der),
      encodePem("CERTIFICATE", root.certificate.der),
    ]);
    const at = String(Date.parse("2050-01-05T00:00:00Z") / 1000);
    const verdict = openssl([
      "verify",
      "-x509_strict",
      "-attime",
      at,
      "-purpose",
      "sslclient",
      "-CAfile",
      files.root,
      "-untrusted",
      files.intermediates,
      files.leaf,
    ]).toString();
    assert.match(verdict, /: OK/);
    assert.ok(opensslVerify(files, "clientAuth").ok === false, "not yet valid in the present");
  });
});

describe("the strict DER gate before signing", () => {
  /** A signer that counts what it is asked to sign. */
  function counting(inner: Signer): Signer & { signed: number } {
    const wrapper = {
      algorithm: inner.algorithm,
      description: inner.description,
      signed: 0,
      publicKey: () => inner.publicKey(),
      sign: async (message: Uint8Array) => {
        wrapper.signed++;
        return inner.sign(message);
      },
    };
    return wrapper;
  }

  const key = generateKey("ECC_NIST_P256").privateKey;
  const signer = counting(new LocalSigner(key, "gate"));
  const fields = async () => ({
    serial: Uint8Array.of(0x42, 1, 2, 3),
    signatureAlgorithm: Uint8Array.from(Buffer.from("300a06082a8648ce3d040302", "hex")),
    issuer: nameObject([{ type: "CN", value: "Gate" }]),
    subject: nameObject([{ type: "CN", value: "Gate" }]),
    notBefore: new Date("2026-01-01T00:00:00Z"),
    notAfter: new Date("2027-01-01T00:00:00Z"),
    spki: await signer.publicKey(),
    extensions: [],
  });

  test("a TBS our reader accepts is signed once, and the published bytes hold that TBS", async () => {
    const certificate = certificateObject(await fields());
    const before = signer.signed;
    const { der, tbs } = await signCertificate(certificate, signer);
    assert.equal(signer.signed, before + 1);
    assert.deepEqual(parseCertificate(der).tbs, tbs.tbs);
  });

  test("a GeneralizedTime with a fraction of a second is not DER for X.509: refused, nothing signed", async () => {
    const certificate = certificateObject(await fields());
    certificate.notAfter = new pkijs.Time({
      type: pkijs.TimeType.GeneralizedTime,
      value: new Date("2051-01-01T00:00:00.500Z"),
    });
    const before = signer.signed;
    const error = await rejectsWith(signCertificate(certificate, signer), "SELF_CHECK_FAILED");
    assert.match(error.message, /not strict DER: notAfter/);
    assert.equal(signer.signed, before);
  });

  test("a serial with a superfluous leading zero byte is refused, nothing signed", async () => {
    const certificate = certificateObject(await fields());
    certificate.serialNumber = new asn1js.Integer({ valueHex: Uint8Array.of(0, 0x42) });
    const before = signer.signed;
    const error = await rejectsWith(signCertificate(certificate, signer), "SELF_CHECK_FAILED");
    assert.match(error.message, /non-minimal INTEGER/);
    assert.equal(signer.signed, before);
  });

  test("a signature algorithm other than the signer's is refused, nothing signed", async () => {
    const certificate = certificateObject({
      ...(await fields()),
      signatureAlgorithm: Uint8Array.from(Buffer.from("300a06082a8648ce3d040303", "hex")),
    });
    const before = signer.signed;
    const error = await rejectsWith(signCertificate(certificate, signer), "SELF_CHECK_FAILED");
    assert.match(error.message, /not the signer's ECDSA_SHA_256/);
    assert.equal(signer.signed, before);
  });
});
