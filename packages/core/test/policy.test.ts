/**
 * Profile policy: the configuration schema (policy/config.ts), CIDR ranges (policy/cidr.ts)
 * and the evaluation of a checked CSR against a profile (policy/evaluate.ts). Requests are
 * real PKCS#10 CSRs built in-process (support/csr-builder.ts) and passed through checkCsr,
 * so every CheckedCsr here is one intake would really produce. Every rejection is asserted
 * by its stable PkiError code and by the words in its message that name the broken rule.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type CheckedCsr, checkCsr } from "../src/csr/intake.ts";
import { OID } from "../src/der/oids.ts";
import { type Der, printableString, tlv, utf8String } from "../src/der/writer.ts";
import { isPkiError, PkiError } from "../src/errors.ts";
import { cidrContains, parseCidr } from "../src/policy/cidr.ts";
import {
  type Config,
  DEFAULT_PUBLIC_BASE_URL,
  loadConfig,
  namesPublicBaseUrl,
  type Profile,
  parseConfig,
} from "../src/policy/config.ts";
import {
  BACKDATE_SECONDS,
  evaluatePolicy,
  findProfile,
  validityWindow,
  withinDomain,
} from "../src/policy/evaluate.ts";
import { renewalPolicyOf, renewalWindow } from "../src/renewal/policy.ts";
import type { SigningAlgorithm } from "../src/signer/algorithms.ts";
import { textToIp } from "../src/x509/general-names.ts";
import {
  attributes,
  atv,
  buildCsr,
  dnsName,
  extensionRequest,
  GN,
  ipName,
  name,
  rdn,
  sanExtension,
  signerFor,
} from "./support/csr-builder.ts";
import { assertPkiError } from "./support/pki-error.ts";

// ------------------------------------------------------------------------------------------
// Keys (generated once, lazily: RSA 3072 takes a moment)

interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

const keySpecs = {
  p256: { make: () => generateKeyPairSync("ec", { namedCurve: "P-256" }), alg: "ECDSA_SHA_256" },
  p384: { make: () => generateKeyPairSync("ec", { namedCurve: "P-384" }), alg: "ECDSA_SHA_384" },
  p521: { make: () => generateKeyPairSync("ec", { namedCurve: "P-521" }), alg: "ECDSA_SHA_512" },
  rsa2048: {
    make: () => generateKeyPairSync("rsa", { modulusLength: 2048 }),
    alg: "RSASSA_PKCS1_V1_5_SHA_256",
  },
  rsa3072: {
    make: () => generateKeyPairSync("rsa", { modulusLength: 3072 }),
    alg: "RSASSA_PKCS1_V1_5_SHA_256",
  },
} satisfies Record<string, { make: () => KeyPair; alg: SigningAlgorithm }>;
type KeyName = keyof typeof keySpecs;

const keyCache = new Map<KeyName, KeyPair>();
function keyPair(which: KeyName): KeyPair {
  let pair = keyCache.get(which);
  if (!pair) {
    pair = keySpecs[which].make();
    keyCache.set(which, pair);
  }
  return pair;
}

// ------------------------------------------------------------------------------------------
// Requests

const ascii = (s: string): Uint8Array => Buffer.from(s, "latin1");
const dns = (host: string): Der => dnsName(host);
const ip = (text: string): Der => {
  const bytes = textToIp(text);
  if (!bytes) throw new TypeError(`test bug: ${text} is not an IP address`);
  return ipName(bytes);
};
const email = (address: string): Der => tlv(GN.email, ascii(address));
const uri = (value: string): Der => tlv(GN.uri, ascii(value));

/** A real CSR with these SAN GeneralNames, run through intake. Default: P-256, empty subject. */
function request(sans: readonly Der[], options: { key?: KeyName; subject?: Der } = {}): CheckedCsr {
  const which = options.key ?? "p256";
  const pair = keyPair(which);
  const spki = new Uint8Array(pair.publicKey.export({ type: "spki", format: "der" }));
  return checkCsr(
    buildCsr({
      subject: options.subject ?? name(),
      spki,
      attributes: attributes(extensionRequest(sanExtension([...sans]))),
      ...signerFor(pair.privateKey, keySpecs[which].alg),
    }),
  );
}

// ------------------------------------------------------------------------------------------
// Configurations

const shippedPath = fileURLToPath(new URL("../../../pki.config.json", import.meta.url));
const shipped = loadConfig(shippedPath);

/** evaluatePolicy against one of the shipped profiles (server, client, server-client). */
const decide = (csr: CheckedCsr, profileName: string, days?: number) =>
  evaluatePolicy(csr, profileName, findProfile(shipped, profileName), days);

type JsonObject = { [key: string]: unknown };

const CA = { subject: "CN=Test Issuing CA, O=Example", rootSubject: "CN=Test Root CA, O=Example" };

/** A small valid profile; `overrides` replaces whole top-level members. */
const profileJson = (overrides: JsonObject = {}): JsonObject => ({
  description: "test profile",
  extendedKeyUsage: ["serverAuth"],
  keys: { ec: ["P-256"] },
  subjectAltNames: { dns: { domains: ["example.com"] } },
  maxSans: 5,
  validity: { defaultDays: 10, maxDays: 20 },
  approval: { mode: "automatic" },
  ...overrides,
});

/** A valid configuration with one profile "test"; `overrides` replaces top-level members. */
const configJson = (overrides: JsonObject = {}): JsonObject => ({
  publicBaseUrl: "https://pki.example.com",
  ca: { ...CA },
  profiles: { test: profileJson() },
  ...overrides,
});

/** The profile "test" of a configuration made with these profile overrides. */
const testProfile = (overrides: JsonObject = {}): Profile =>
  findProfile(parseConfig(configJson({ profiles: { test: profileJson(overrides) } })), "test");

// ------------------------------------------------------------------------------------------

describe("withinDomain: suffix match on label boundaries", () => {
  const cases: [string, string, boolean][] = [
    ["example.com", "example.com", true],
    ["a.example.com", "example.com", true],
    ["a.b.c.example.com", "example.com", true],
    ["a.example.com", "Example.COM", true],
    ["badexample.com", "example.com", false],
    ["xexample.com", "example.com", false],
    ["example.com.evil.net", "example.com", false],
    ["example.co", "example.com", false],
    ["com", "example.com", false],
    ["aexample.com", "a.example.com", false],
  ];
  for (const [host, domain, expected] of cases) {
    test(`${host} ${expected ? "is" : "is not"} within ${domain}`, () => {
      assert.equal(withinDomain(host, domain), expected);
    });
  }
});

describe("DNS SANs", () => {
  for (const host of ["a.example.com", "example.com", "deep.a.b.example.com", "A.Example.COM"]) {
    test(`${host} is allowed under example.com (server)`, () => {
      const decision = decide(request([dns(host)]), "server");
      assert.deepEqual(decision.sans, [{ type: "dns", value: host }]);
    });
  }

  for (const host of ["badexample.com", "example.com.evil.net", "xexample.com", "evil.net"]) {
    test(`${host} is rejected: outside every domain, on label boundaries`, () => {
      assertPkiError(
        () => decide(request([dns(host)]), "server"),
        "POLICY_DNS_NOT_ALLOWED",
        host,
        "profile server",
        "example.internal, example.com, svc.cluster.local",
      );
    });
  }

  test("every configured domain counts, not only the first", () => {
    const decision = decide(
      request([dns("db.example.internal"), dns("api.svc.cluster.local")]),
      "client",
    );
    assert.equal(decision.sans.length, 2);
  });

  test("one name outside the domains rejects the whole request (nothing is dropped)", () => {
    assertPkiError(
      () => decide(request([dns("a.example.com"), dns("b.example.net")]), "server"),
      "POLICY_DNS_NOT_ALLOWED",
      "b.example.net",
    );
  });

  test("the decision carries every SAN of the request, in order", () => {
    const csr = request([dns("b.example.com"), dns("a.example.com"), ip("10.1.2.3")]);
    const decision = decide(csr, "server");
    assert.deepEqual(decision.sans, [
      { type: "dns", value: "b.example.com" },
      { type: "dns", value: "a.example.com" },
      { type: "ip", value: "10.1.2.3" },
    ]);
    assert.equal(decision.profileName, "server");
    assert.equal(decision.profile, findProfile(shipped, "server"));
  });

  test("a configured domain in mixed case still matches", () => {
    const profile = testProfile({ subjectAltNames: { dns: { domains: ["Example.COM"] } } });
    const decision = evaluatePolicy(request([dns("www.example.com")]), "test", profile);
    assert.equal(decision.sans[0]?.value, "www.example.com");
  });
});

describe("wildcard DNS names", () => {
  test("*.example.com is issued by server (wildcards: true)", () => {
    const decision = decide(request([dns("*.example.com")]), "server");
    assert.deepEqual(decision.sans, [{ type: "dns", value: "*.example.com" }]);
  });

  test("*.example.com is refused by client (no wildcards)", () => {
    assertPkiError(
      () => decide(request([dns("*.example.com")]), "client"),
      "POLICY_WILDCARD_NOT_ALLOWED",
      "Profile client",
      "*.example.com",
    );
  });

  test("wildcards default to off when a profile does not mention them", () => {
    const profile = testProfile();
    assert.equal(profile.subjectAltNames.dns?.wildcards, false);
    assertPkiError(
      () => evaluatePolicy(request([dns("*.example.com")]), "test", profile),
      "POLICY_WILDCARD_NOT_ALLOWED",
      "Profile test",
    );
  });

  test("a wildcard one level below a configured domain is allowed", () => {
    const decision = decide(request([dns("*.svc.cluster.local")]), "server");
    assert.equal(decision.sans[0]?.value, "*.svc.cluster.local");
  });

  test("*.cluster.local is refused: it covers names outside svc.cluster.local", () => {
    assertPkiError(
      () => decide(request([dns("*.cluster.local")]), "server"),
      "POLICY_DNS_NOT_ALLOWED",
      "*.cluster.local",
    );
  });

  for (const host of ["*.badexample.com", "*.example.com.evil.net", "*.evil.net"]) {
    test(`${host} is refused even where wildcards are allowed`, () => {
      assertPkiError(
        () => decide(request([dns(host)]), "server"),
        "POLICY_DNS_NOT_ALLOWED",
        host,
        "profile server",
      );
    });
  }

  test("*x.example.com (wildcard not a whole label) is refused at intake", () => {
    assertPkiError(
      () => request([dns("*x.example.com")]),
      "CSR_SAN_INVALID_DNS",
      '"*x.example.com"',
      'the label "*x"',
    );
  });

  test("a.*.example.com (wildcard not the left-most label) is refused at intake", () => {
    assertPkiError(
      () => request([dns("a.*.example.com")]),
      "CSR_SAN_INVALID_DNS",
      '"a.*.example.com"',
      "wildcard that is not the leftmost label",
    );
  });

  test("*.*.example.com (two wildcard labels) is refused at intake", () => {
    assertPkiError(
      () => request([dns("*.*.example.com")]),
      "CSR_SAN_INVALID_DNS",
      "wildcard that is not the leftmost label",
    );
  });

  test("*.com (wildcard directly under a TLD) is refused at intake", () => {
    assertPkiError(
      () => request([dns("*.com")]),
      "CSR_SAN_INVALID_DNS",
      "wildcard directly under a top-level domain",
    );
  });
});

describe("IP SANs", () => {
  // server: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fd00::/8
  const inside = [
    "10.0.0.0",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.1",
    "fd00::1",
    "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  ];
  for (const address of inside) {
    test(`${address} is inside server's ranges`, () => {
      const decision = decide(request([ip(address)]), "server");
      assert.deepEqual(decision.sans, [{ type: "ip", value: address }]);
    });
  }

  const outside = [
    "9.255.255.255",
    "11.0.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.169.0.1",
    "8.8.8.8",
    "127.0.0.1",
    "fc00::1",
    "fe80::1",
    "2001:db8::1",
    "::1",
    // IPv4-mapped 10.0.0.1: a 16-byte address is never inside an IPv4 range.
    "::ffff:a00:1",
  ];
  for (const address of outside) {
    test(`${address} is outside server's ranges`, () => {
      assertPkiError(
        () => decide(request([ip(address)]), "server"),
        "POLICY_IP_NOT_ALLOWED",
        address,
        "profile server",
        "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fd00::/8",
      );
    });
  }

  test("ranges are per profile: 192.168.1.1 is allowed by server, not by server-client", () => {
    assert.equal(decide(request([ip("192.168.1.1")]), "server").sans.length, 1);
    assertPkiError(
      () => decide(request([ip("192.168.1.1")]), "server-client"),
      "POLICY_IP_NOT_ALLOWED",
      "192.168.1.1",
      "profile server-client",
      "10.0.0.0/8, fd00::/8",
    );
  });

  test("an IPv4 address is not inside an IPv6-only range list", () => {
    const profile = testProfile({ subjectAltNames: { ip: { ranges: ["fd00::/8"] } } });
    assert.equal(evaluatePolicy(request([ip("fd00::5")]), "test", profile).sans.length, 1);
    assertPkiError(
      () => evaluatePolicy(request([ip("10.0.0.1")]), "test", profile),
      "POLICY_IP_NOT_ALLOWED",
      "10.0.0.1",
    );
  });

  test("an IP SAN in a profile without an ip section is a SAN kind not allowed", () => {
    assertPkiError(
      () => decide(request([ip("10.0.0.1")]), "client"),
      "POLICY_SAN_TYPE_NOT_ALLOWED",
      "Profile client",
      "ip SANs",
      "10.0.0.1",
    );
  });

  test("a /32 range allows exactly one address", () => {
    const profile = testProfile({ subjectAltNames: { ip: { ranges: ["10.1.2.3/32"] } } });
    assert.equal(evaluatePolicy(request([ip("10.1.2.3")]), "test", profile).sans.length, 1);
    assertPkiError(
      () => evaluatePolicy(request([ip("10.1.2.4")]), "test", profile),
      "POLICY_IP_NOT_ALLOWED",
      "10.1.2.4",
      "10.1.2.3/32",
    );
  });
});

describe("parseCidr", () => {
  test("parses IPv4 and IPv6 ranges into network bytes and prefix", () => {
    assert.deepEqual(parseCidr("10.0.0.0/8"), { network: Uint8Array.of(10, 0, 0, 0), prefix: 8 });
    const v6 = parseCidr("fd00::/8");
    assert.equal(v6?.prefix, 8);
    assert.deepEqual(v6?.network, Uint8Array.of(0xfd, ...new Array<number>(15).fill(0)));
  });

  for (const [text, prefix] of [
    ["0.0.0.0/0", 0],
    ["10.1.2.3/32", 32],
    ["::/0", 0],
    ["2001:db8::1/128", 128],
    ["172.16.0.0/12", 12],
  ] as const) {
    test(`accepts ${text}`, () => {
      assert.equal(parseCidr(text)?.prefix, prefix);
    });
  }

  const malformed = [
    "",
    "10.0.0.0",
    "10.0.0.0/",
    "/8",
    "10.0.0.0/33",
    "10.0.0.0/99",
    "10.0.0.0/1000",
    "fd00::/129",
    "10.0.0.0/-1",
    "10.0.0.0/+8",
    "10.0.0.0/8.0",
    "10.0.0.0/0x8",
    "10.0.0.0/ 8",
    "10.0.0.0/8 ",
    " 10.0.0.0/8",
    "10.0.0.0/8/8",
    "10.0.0/8",
    "256.0.0.0/8",
    "010.0.0.0/8",
    "fd00::1::/64",
    "fd00:::/8",
    "example.com/8",
    "10.0.0.0/eight",
  ];
  for (const text of malformed) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      assert.equal(parseCidr(text), undefined);
    });
  }
});

describe("cidrContains", () => {
  const contains = (range: string, address: string) => {
    const cidr = parseCidr(range);
    const bytes = textToIp(address);
    assert.ok(cidr && bytes, `test bug: ${range} / ${address}`);
    return cidrContains(cidr, bytes);
  };

  test("/0 contains every address of its own family only", () => {
    assert.equal(contains("0.0.0.0/0", "0.0.0.0"), true);
    assert.equal(contains("0.0.0.0/0", "255.255.255.255"), true);
    assert.equal(contains("0.0.0.0/0", "::"), false);
    assert.equal(contains("::/0", "ffff::1"), true);
    assert.equal(contains("::/0", "0.0.0.0"), false);
  });

  test("/32 and /128 contain exactly one address", () => {
    assert.equal(contains("192.0.2.7/32", "192.0.2.7"), true);
    assert.equal(contains("192.0.2.7/32", "192.0.2.6"), false);
    assert.equal(contains("192.0.2.7/32", "192.0.2.8"), false);
    assert.equal(contains("2001:db8::7/128", "2001:db8::7"), true);
    assert.equal(contains("2001:db8::7/128", "2001:db8::6"), false);
    assert.equal(contains("2001:db8::7/128", "2001:db8::8"), false);
  });

  test("prefixes that do not fall on a byte boundary", () => {
    assert.equal(contains("172.16.0.0/12", "172.16.0.0"), true);
    assert.equal(contains("172.16.0.0/12", "172.31.255.255"), true);
    assert.equal(contains("172.16.0.0/12", "172.32.0.0"), false);
    assert.equal(contains("172.16.0.0/12", "172.15.255.255"), false);
    assert.equal(contains("128.0.0.0/1", "200.0.0.1"), true);
    assert.equal(contains("128.0.0.0/1", "127.255.255.255"), false);
    assert.equal(contains("192.168.1.128/25", "192.168.1.128"), true);
    assert.equal(contains("192.168.1.128/25", "192.168.1.127"), false);
    assert.equal(contains("fc00::/7", "fd12::1"), true);
    assert.equal(contains("fc00::/7", "fe00::1"), false);
    assert.equal(contains("2001:db8::/33", "2001:db8:7fff::1"), true);
    assert.equal(contains("2001:db8::/33", "2001:db8:8000::1"), false);
  });

  test("host bits in the range are masked, not compared", () => {
    const range = { network: Uint8Array.of(10, 1, 2, 3), prefix: 8 };
    assert.equal(cidrContains(range, Uint8Array.of(10, 200, 0, 1)), true);
    assert.equal(cidrContains(range, Uint8Array.of(11, 1, 2, 3)), false);
  });

  test("an address of the other family is never contained", () => {
    const v4 = { network: Uint8Array.of(0, 0, 0, 0), prefix: 0 };
    assert.equal(cidrContains(v4, new Uint8Array(16)), false);
  });
});

describe("email SANs", () => {
  for (const address of ["alice@example.com", "bob@mail.example.com", "ALICE@EXAMPLE.COM"]) {
    test(`${address} is within client's mail domains`, () => {
      const decision = decide(request([email(address)]), "client");
      assert.deepEqual(decision.sans, [{ type: "email", value: address }]);
    });
  }

  for (const address of [
    "alice@badexample.com",
    "alice@example.com.evil.net",
    "alice@xexample.com",
    // A DNS domain of the profile is not a mail domain of it.
    "alice@example.internal",
  ]) {
    test(`${address} is outside client's mail domains`, () => {
      assertPkiError(
        () => decide(request([email(address)]), "client"),
        "POLICY_EMAIL_NOT_ALLOWED",
        address,
        "profile client's mail domains",
      );
    });
  }

  test("an email SAN in a profile without an email section is not allowed", () => {
    assertPkiError(
      () => decide(request([email("alice@example.com")]), "server"),
      "POLICY_SAN_TYPE_NOT_ALLOWED",
      "Profile server",
      "email SANs",
      "alice@example.com",
    );
  });
});

describe("URI SANs", () => {
  test("a SPIFFE ID under the configured prefix is allowed (client, server-client)", () => {
    const id = "spiffe://example.internal/ns/prod/sa/web";
    assert.deepEqual(decide(request([uri(id)]), "client").sans, [{ type: "uri", value: id }]);
    assert.deepEqual(decide(request([uri(id)]), "server-client").sans, [
      { type: "uri", value: id },
    ]);
  });

  for (const value of [
    "spiffe://example.internal.evil.net/ns/prod",
    "spiffe://example.internal",
    "spiffe://other.internal/ns/prod",
    "https://example.internal/ns/prod",
    "spiffe://evil.net/spiffe://example.internal/",
  ]) {
    test(`${value} does not start with the prefix`, () => {
      assertPkiError(
        () => decide(request([uri(value)]), "client"),
        "POLICY_URI_NOT_ALLOWED",
        value,
        "profile client's URI prefixes",
      );
    });
  }

  test("a URI SAN in a profile without a uri section is not allowed", () => {
    assertPkiError(
      () => decide(request([uri("spiffe://example.internal/x")]), "server"),
      "POLICY_SAN_TYPE_NOT_ALLOWED",
      "Profile server",
      "uri SANs",
    );
  });

  test("a prefix without a path boundary does not let a look-alike host through", () => {
    const evil = request([uri("spiffe://example.internal.evil.net/ns/prod")]);
    let profile: Profile;
    try {
      profile = testProfile({
        subjectAltNames: { uri: { prefixes: ["spiffe://example.internal"] } },
      });
    } catch (e) {
      // Rejecting such a prefix in the configuration is a fix too.
      assert.ok(e instanceof PkiError && e.code === "CONFIG_INVALID");
      return;
    }
    assertPkiError(
      () => evaluatePolicy(evil, "test", profile),
      "POLICY_URI_NOT_ALLOWED",
      "example.internal.evil.net",
    );
  });
});

describe("SAN kinds", () => {
  test("a DNS SAN in a profile without a dns section is not allowed", () => {
    const profile = testProfile({ subjectAltNames: { ip: { ranges: ["10.0.0.0/8"] } } });
    assertPkiError(
      () => evaluatePolicy(request([dns("a.example.com")]), "test", profile),
      "POLICY_SAN_TYPE_NOT_ALLOWED",
      "Profile test",
      "dns SANs",
      "a.example.com",
    );
  });

  test("an allowed kind does not excuse a disallowed one in the same request", () => {
    assertPkiError(
      () => decide(request([dns("a.example.com"), email("alice@example.com")]), "server"),
      "POLICY_SAN_TYPE_NOT_ALLOWED",
      "email SANs",
    );
  });

  test("a profile allowing every kind takes one of each", () => {
    const profile = testProfile({
      subjectAltNames: {
        dns: { domains: ["example.com"] },
        ip: { ranges: ["10.0.0.0/8"] },
        email: { domains: ["example.com"] },
        uri: { prefixes: ["spiffe://example.com/"] },
      },
    });
    const csr = request([
      dns("a.example.com"),
      ip("10.0.0.1"),
      email("a@example.com"),
      uri("spiffe://example.com/a"),
    ]);
    assert.deepEqual(
      evaluatePolicy(csr, "test", profile).sans.map((s) => s.type),
      ["dns", "ip", "email", "uri"],
    );
  });
});

describe("maxSans", () => {
  const hosts = (n: number) => Array.from({ length: n }, (_, i) => dns(`h${i}.example.com`));

  test("exactly maxSans names are accepted (client: 10)", () => {
    const decision = decide(request(hosts(10)), "client");
    assert.equal(decision.sans.length, 10);
    assert.ok(decision.checks.includes("10 of at most 10 SANs"), decision.checks.join("; "));
  });

  test("maxSans + 1 names are refused, naming both counts", () => {
    assertPkiError(
      () => decide(request(hosts(11)), "client"),
      "POLICY_TOO_MANY_SANS",
      "has 11",
      "profile client allows 10",
    );
  });

  test("a profile with maxSans 1 refuses two names", () => {
    const profile = testProfile({ maxSans: 1 });
    assert.equal(evaluatePolicy(request(hosts(1)), "test", profile).sans.length, 1);
    assertPkiError(
      () => evaluatePolicy(request(hosts(2)), "test", profile),
      "POLICY_TOO_MANY_SANS",
      "has 2",
      "profile test allows 1",
    );
  });
});

describe("key types", () => {
  const san = [dns("a.example.com")];

  for (const key of ["p256", "p384", "p521", "rsa2048", "rsa3072"] as const) {
    test(`server accepts ${key}`, () => {
      const decision = decide(request(san, { key }), "server");
      assert.ok(decision.checks.includes("key type allowed by profile server"));
    });
  }

  test("an EC curve not in the profile's list is refused (P-256 only; P-384 and P-521)", () => {
    const profile = testProfile({ keys: { ec: ["P-256"] } });
    assert.equal(evaluatePolicy(request(san), "test", profile).profileName, "test");
    assertPkiError(
      () => evaluatePolicy(request(san, { key: "p384" }), "test", profile),
      "POLICY_KEY_NOT_ALLOWED",
      "Profile test does not allow EC P-384 keys",
    );
    assertPkiError(
      () => evaluatePolicy(request(san, { key: "p521" }), "test", profile),
      "POLICY_KEY_NOT_ALLOWED",
      "EC P-521",
    );
  });

  test("RSA below the profile's minBits is refused, naming the range", () => {
    const profile = testProfile({ keys: { rsa: { minBits: 3072, maxBits: 4096 } } });
    assert.equal(evaluatePolicy(request(san, { key: "rsa3072" }), "test", profile).sans.length, 1);
    assertPkiError(
      () => evaluatePolicy(request(san, { key: "rsa2048" }), "test", profile),
      "POLICY_KEY_NOT_ALLOWED",
      "does not allow RSA 2048 keys",
      "RSA 3072-4096 bits",
    );
  });

  test("RSA above the profile's maxBits is refused, naming the range", () => {
    const profile = testProfile({ keys: { rsa: { minBits: 2048, maxBits: 2048 } } });
    assert.equal(evaluatePolicy(request(san, { key: "rsa2048" }), "test", profile).sans.length, 1);
    assertPkiError(
      () => evaluatePolicy(request(san, { key: "rsa3072" }), "test", profile),
      "POLICY_KEY_NOT_ALLOWED",
      "does not allow RSA 3072 keys",
      "RSA 2048-2048 bits",
    );
  });

  test("an RSA key in an EC-only profile is refused", () => {
    const profile = testProfile({ keys: { ec: ["P-256", "P-384"] } });
    const error = assertPkiError(
      () => evaluatePolicy(request(san, { key: "rsa2048" }), "test", profile),
      "POLICY_KEY_NOT_ALLOWED",
      "Profile test does not allow RSA 2048 keys.",
    );
    assert.ok(!error.message.includes("bits)"), "no RSA range to name");
  });

  test("an EC key in an RSA-only profile is refused", () => {
    const profile = testProfile({ keys: { rsa: { minBits: 2048, maxBits: 4096 } } });
    assertPkiError(
      () => evaluatePolicy(request(san), "test", profile),
      "POLICY_KEY_NOT_ALLOWED",
      "Profile test does not allow EC P-256 keys.",
    );
  });
});

describe("subject attributes", () => {
  const cn = (value: string) => rdn(atv(OID.commonName, utf8String(value)));
  const o = (value: string) => rdn(atv(OID.organizationName, utf8String(value)));

  test("profiles allow CN, O, OU, C, ST and L by default", () => {
    assert.deepEqual(findProfile(shipped, "server").subjectAttributes, [
      "CN",
      "O",
      "OU",
      "C",
      "ST",
      "L",
    ]);
    const subject = name(
      rdn(atv(OID.countryName, printableString("US"))),
      rdn(atv(OID.stateOrProvinceName, utf8String("California"))),
      rdn(atv(OID.localityName, utf8String("San Francisco"))),
      o("Example"),
      rdn(atv(OID.organizationalUnitName, utf8String("Platform"))),
      cn("a.example.com"),
    );
    const decision = decide(request([dns("a.example.com")], { subject }), "server");
    assert.equal(decision.sans.length, 1);
  });

  test("an attribute the profile does not list is refused, naming it", () => {
    const profile = testProfile({ subjectAttributes: ["CN"] });
    const withCn = request([dns("a.example.com")], { subject: name(cn("a.example.com")) });
    assert.equal(evaluatePolicy(withCn, "test", profile).sans.length, 1);
    const withO = request([dns("a.example.com")], {
      subject: name(o("Example"), cn("a.example.com")),
    });
    assertPkiError(
      () => evaluatePolicy(withO, "test", profile),
      "CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED",
      "Profile test does not issue subject O",
    );
  });

  test("an empty list allows only an empty subject", () => {
    const profile = testProfile({ subjectAttributes: [] });
    assert.equal(evaluatePolicy(request([dns("a.example.com")]), "test", profile).sans.length, 1);
    const withCn = request([dns("a.example.com")], { subject: name(cn("a.example.com")) });
    assertPkiError(
      () => evaluatePolicy(withCn, "test", profile),
      "CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED",
      "does not issue subject CN",
    );
  });
});

describe("validity", () => {
  const csr = () => request([dns("a.example.com")]);

  test("the profile's defaultDays is used when none is requested", () => {
    assert.equal(decide(csr(), "client").validityDays, 30);
    assert.equal(decide(csr(), "server").validityDays, 90);
    assert.equal(evaluatePolicy(csr(), "test", testProfile()).validityDays, 10);
  });

  for (const days of [1, 45, 90]) {
    test(`${days} requested days (at most maxDays 90) are granted`, () => {
      const decision = decide(csr(), "client", days);
      assert.equal(decision.validityDays, days);
      assert.ok(decision.checks.includes(`validity ${days} days, at most 90`));
    });
  }

  test("maxDays + 1 is refused, naming the request and the limit", () => {
    assertPkiError(
      () => decide(csr(), "client", 91),
      "POLICY_VALIDITY_TOO_LONG",
      "91 days requested",
      "profile client allows at most 90",
    );
    assert.equal(decide(csr(), "server", 397).validityDays, 397);
    assertPkiError(
      () => decide(csr(), "server", 398),
      "POLICY_VALIDITY_TOO_LONG",
      "398 days requested",
      "at most 397",
    );
  });

  for (const days of [0, -1, -30, 1.5, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`${days} days is refused as not a positive whole number`, () => {
      assertPkiError(
        () => decide(csr(), "client", days),
        "POLICY_VALIDITY_INVALID",
        `A validity of ${days} days is not a positive whole number`,
      );
    });
  }

  test("a numeric string is refused, not coerced", () => {
    assertPkiError(
      () => decide(csr(), "client", "30" as unknown as number),
      "POLICY_VALIDITY_INVALID",
      "not a positive whole number",
    );
  });
});

describe("validityWindow", () => {
  const DAY = 86_400_000;

  test("notBefore is backdated by BACKDATE_SECONDS; the window is `days` days inclusive", () => {
    assert.equal(BACKDATE_SECONDS, 300);
    const now = new Date("2025-06-01T12:00:00.000Z");
    const { notBefore, notAfter } = validityWindow(90, now);
    assert.equal(notBefore.toISOString(), "2025-06-01T11:55:00.000Z");
    assert.equal(notAfter.toISOString(), "2025-08-30T11:54:59.000Z");
    // RFC 5280 validity is inclusive of both ends: the last second counts.
    assert.equal(notAfter.getTime() + 1000 - notBefore.getTime(), 90 * DAY);
  });

  test("times are truncated to whole seconds", () => {
    const now = new Date("2025-06-01T12:00:00.999Z");
    const { notBefore, notAfter } = validityWindow(1, now);
    assert.equal(notBefore.getTime() % 1000, 0);
    assert.equal(notAfter.getTime() % 1000, 0);
    assert.equal(notBefore.toISOString(), "2025-06-01T11:55:00.000Z");
    assert.equal(notAfter.toISOString(), "2025-06-02T11:54:59.000Z");
  });

  for (const days of [1, 30, 397, 3650]) {
    test(`${days} days: notAfter = notBefore + ${days} days - 1 s`, () => {
      const now = new Date(Date.UTC(2030, 0, 15, 8, 30, 17, 250));
      const { notBefore, notAfter } = validityWindow(days, now);
      assert.equal(now.getTime() - notBefore.getTime(), BACKDATE_SECONDS * 1000 + 250);
      assert.equal(notAfter.getTime() - notBefore.getTime(), days * DAY - 1000);
    });
  }

  test("defaults to the current time", () => {
    const before = Date.now();
    const { notBefore } = validityWindow(1);
    const afterCall = Date.now();
    assert.ok(notBefore.getTime() <= before - BACKDATE_SECONDS * 1000 + 999);
    assert.ok(notBefore.getTime() >= afterCall - BACKDATE_SECONDS * 1000 - 1000);
  });
});

describe("findProfile", () => {
  test("finds each shipped profile", () => {
    for (const profileName of ["server", "client", "server-client"]) {
      assert.equal(findProfile(shipped, profileName), shipped.profiles[profileName]);
    }
    assert.deepEqual(findProfile(shipped, "client").extendedKeyUsage, ["clientAuth"]);
  });

  test("an unknown name is PROFILE_UNKNOWN and lists the known profiles", () => {
    const error = assertPkiError(
      () => findProfile(shipped, "webserver"),
      "PROFILE_UNKNOWN",
      '"webserver" is not one of: server, client, server-client.',
    );
    assert.deepEqual(error.details, { profile: "webserver" });
  });

  test("names are exact: case and whitespace matter", () => {
    assertPkiError(() => findProfile(shipped, "Server"), "PROFILE_UNKNOWN", '"Server"');
    assertPkiError(() => findProfile(shipped, " server"), "PROFILE_UNKNOWN");
    assertPkiError(() => findProfile(shipped, ""), "PROFILE_UNKNOWN", '""');
  });

  for (const inherited of [
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "valueOf",
  ]) {
    test(`${inherited} is an unknown profile, not an inherited property`, () => {
      assertPkiError(
        () => findProfile(shipped, inherited),
        "PROFILE_UNKNOWN",
        `"${inherited}" is not one of: server, client, server-client.`,
      );
    });
  }

  test("a profile named constructor or prototype is kept (or refused), never silently dropped", () => {
    for (const profileName of ["constructor", "prototype"]) {
      const json = configJson({
        profiles: { test: profileJson(), [profileName]: profileJson() },
      });
      let config: Config;
      try {
        config = parseConfig(json);
      } catch (e) {
        assert.ok(e instanceof PkiError && e.code === "CONFIG_INVALID");
        assert.ok(e.message.includes(profileName), e.message);
        continue;
      }
      assert.ok(Object.hasOwn(config.profiles, profileName), `${profileName} was dropped`);
      assert.equal(findProfile(config, profileName).description, "test profile");
    }
  });
});

describe("configuration: the shipped file and defaults", () => {
  test("pki.config.json loads with its three profiles", () => {
    assert.deepEqual(Object.keys(shipped.profiles), ["server", "client", "server-client"]);
    assert.equal(shipped.crl.validityHours, 168);
    assert.equal(shipped.ca.validityDays, 1825);
    const approval = findProfile(shipped, "server-client").approval;
    assert.ok(approval.mode === "manual");
    assert.equal(approval.quorum, 2);
    assert.equal(approval.approvers.length, 2);
  });

  test("defaults are filled in", () => {
    const config = parseConfig(
      configJson({
        profiles: {
          test: profileJson({ approval: { mode: "manual", approvers: ["sec@example.com"] } }),
        },
      }),
    );
    assert.equal(config.ca.validityDays, 3650);
    assert.equal(config.ca.rootValidityDays, 7300);
    assert.equal(config.crl.validityHours, 168);
    const profile = findProfile(config, "test");
    assert.deepEqual(profile.approval, {
      mode: "manual",
      approvers: ["sec@example.com"],
      quorum: 1,
      timeoutHours: 168,
    });
    assert.equal(profile.subjectAltNames.dns?.wildcards, false);
    assert.deepEqual(profile.subjectAttributes, ["CN", "O", "OU", "C", "ST", "L"]);
  });

  test("boundary values that are allowed", () => {
    const config = parseConfig(
      configJson({
        ca: { ...CA, validityDays: 36500 },
        crl: { validityHours: 240 },
        profiles: {
          test: profileJson({
            keys: { rsa: { minBits: 2048, maxBits: 8192 } },
            maxSans: 100,
            validity: { defaultDays: 1, maxDays: 36500 },
            approval: {
              mode: "manual",
              approvers: ["a@example.com", "b@example.com"],
              quorum: 2,
              timeoutHours: 8736,
            },
          }),
          "a-0": profileJson({ validity: { defaultDays: 7, maxDays: 7 } }),
        },
      }),
    );
    assert.deepEqual(Object.keys(config.profiles), ["test", "a-0"]);
    assert.deepEqual(config.crl, { validityHours: 240, refreshHours: 24, expiredGraceDays: 7 });
  });

  test("CRL timing: refresh defaults to half the validity (at most a day); fractions allowed", () => {
    const crl = (c: JsonObject) => parseConfig(configJson({ crl: c })).crl;
    assert.deepEqual(crl({ validityHours: 10 }), {
      validityHours: 10,
      refreshHours: 5,
      expiredGraceDays: 7,
    });
    assert.deepEqual(crl({ validityHours: 0.002, refreshHours: 0.0005, expiredGraceDays: 0 }), {
      validityHours: 0.002,
      refreshHours: 0.0005,
      expiredGraceDays: 0,
    });
  });
});

describe("configuration: the aws section", () => {
  test("mail goes through mail.from's own identity unless a domain that verifies it is named", () => {
    const mail = (aws: JsonObject) =>
      parseConfig(configJson({ mail: { from: "pki@ca.example.com" }, aws })).aws.mail;
    assert.deepEqual(mail({}), { shared: false });
    for (const identity of ["ca.example.com", "example.com", "PKI@ca.example.com"]) {
      assert.equal(mail({ mail: { identity } }).identity, identity);
    }
    assert.equal(mail({ mail: { shared: true } }).shared, true);
  });

  test("key administrators are role or user ARNs, in any partition", () => {
    const admins = [
      "arn:aws:iam::123456789012:role/pki-admins",
      "arn:aws-us-gov:iam::123456789012:user/ops/alice",
      "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123",
    ];
    assert.deepEqual(
      parseConfig(configJson({ aws: { ca: { keyAdmins: admins } } })).aws.ca.keyAdmins,
      admins,
    );
  });
});

describe("configuration: parseConfig rejects, naming the path and the rule", () => {
  const manual = (approval: JsonObject): JsonObject => ({
    profiles: { test: profileJson({ approval: { mode: "manual", ...approval } }) },
  });
  const profile = (overrides: JsonObject): JsonObject => ({
    profiles: { test: profileJson(overrides) },
  });
  const sans = (subjectAltNames: JsonObject) => profile({ subjectAltNames });

  const PRIVATE_NETWORK = {
    mode: "private",
    vpcId: "vpc-0123456789abcdef0",
    subnetIds: ["subnet-0123456789abcdef0"],
    vpcEndpointIds: ["vpce-0123456789abcdef0"],
    domain: {
      name: "pki.corp.example.com",
      certificateArn:
        "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
    },
  };
  const cases: [string, JsonObject, string][] = [
    // renewal, owners, expiry reminders
    [
      "a renewal approval that is neither again nor inherit",
      profile({ renewal: { approval: "never" } }),
      'profiles.test.renewal.approval: renewal.approval must be "again" or "inherit"',
    ],
    [
      "a renewal window opening past the end of the lifetime",
      profile({ renewal: { window: { startFraction: 1.5 } } }),
      "profiles.test.renewal.window.startFraction: renewal.window.startFraction must be between 0 and 1",
    ],
    [
      "negative grace days",
      profile({ renewal: { window: { graceDays: -1 } } }),
      "profiles.test.renewal.window.graceDays: renewal.window.graceDays must not be negative",
    ],
    [
      "an unknown renewal setting",
      profile({ renewal: { renewEarly: true } }),
      'profiles.test.renewal: unknown field "renewEarly"',
    ],
    [
      "an owner that is not an address",
      profile({ owners: ["platform team"] }),
      'profiles.test.owners.0: "platform team" is not an email address',
    ],
    [
      "a reminder day repeated",
      { notifications: { expiryReminderDays: [7, 30, 7] } },
      "notifications.expiryReminderDays: notifications.expiryReminderDays must not repeat a day",
    ],
    [
      "a reminder at zero days",
      { notifications: { expiryReminderDays: [0] } },
      "notifications.expiryReminderDays.0: notifications.expiryReminderDays must hold days from 1 to 3650",
    ],
    [
      "a fractional reminder day",
      { notifications: { expiryReminderDays: [1.5] } },
      "notifications.expiryReminderDays.0: notifications.expiryReminderDays must hold whole numbers of days",
    ],
    // approval
    [
      "quorum greater than the number of approvers",
      manual({ approvers: ["a@example.com"], quorum: 2 }),
      "profiles.test.approval: quorum cannot exceed the number of approvers",
    ],
    [
      "manual approval without approvers",
      manual({}),
      // A missing key is named as such, in a sentence.
      "profiles.test.approval.approvers is required",
    ],
    [
      "manual approval with an empty approver list",
      manual({ approvers: [] }),
      "profiles.test.approval.approvers: Invalid length: Expected >=1",
    ],
    [
      "an approver that is not an email address",
      manual({ approvers: ["security team"] }),
      'profiles.test.approval.approvers.0: "security team" is not an email address',
    ],
    [
      "quorum 0",
      manual({ approvers: ["a@example.com"], quorum: 0 }),
      "profiles.test.approval.quorum: Invalid value: Expected >=1",
    ],
    [
      "a fractional quorum",
      manual({ approvers: ["a@example.com", "b@example.com"], quorum: 1.5 }),
      "profiles.test.approval.quorum: Invalid integer",
    ],
    [
      "timeoutHours that leaves no day of the year-long execution for signing",
      manual({ approvers: ["a@example.com"], timeoutHours: 8737 }),
      "profiles.test.approval.timeoutHours: timeoutHours must be at most 8736 (364 days): a Step Functions execution lasts at most a year",
    ],
    [
      "timeoutHours under a second",
      manual({ approvers: ["a@example.com"], timeoutHours: 0.0002 }),
      "profiles.test.approval.timeoutHours: timeoutHours must be at least one second (1/3600)",
    ],
    [
      "an unknown approval mode",
      profile({ approval: { mode: "auto" } }),
      'profiles.test.approval.mode: Invalid type: Expected ("automatic" | "manual")',
    ],
    [
      "approvers on automatic approval",
      profile({ approval: { mode: "automatic", approvers: ["a@example.com"] } }),
      'profiles.test.approval: unknown field "approvers": the only allowed field is mode',
    ],
    // validity
    [
      "maxDays below defaultDays",
      profile({ validity: { defaultDays: 30, maxDays: 20 } }),
      "profiles.test.validity: validity.defaultDays exceeds validity.maxDays",
    ],
    [
      "defaultDays 0",
      profile({ validity: { defaultDays: 0, maxDays: 20 } }),
      "profiles.test.validity.defaultDays: Invalid value: Expected >=1",
    ],
    [
      "maxDays over 100 years",
      profile({ validity: { defaultDays: 1, maxDays: 36501 } }),
      "profiles.test.validity.maxDays: Invalid value: Expected <=36500",
    ],
    [
      "fractional maxDays",
      profile({ validity: { defaultDays: 1, maxDays: 1.5 } }),
      "profiles.test.validity.maxDays: Invalid integer",
    ],
    [
      "validity without maxDays",
      profile({ validity: { defaultDays: 1 } }),
      "profiles.test.validity.maxDays is required",
    ],
    // SANs
    [
      "a malformed CIDR range",
      sans({ ip: { ranges: ["10.0.0.0/8", "10.0.0.0/33"] } }),
      'profiles.test.subjectAltNames.ip.ranges.1: "10.0.0.0/33" is not CIDR',
    ],
    [
      "a range with host bits set (a typo for its network)",
      sans({ ip: { ranges: ["10.1.2.3/8"] } }),
      'profiles.test.subjectAltNames.ip.ranges.0: "10.1.2.3/8" has host bits set; write its network address',
    ],
    [
      "an IPv6 range with host bits set",
      sans({ ip: { ranges: ["fd00::1/8"] } }),
      'profiles.test.subjectAltNames.ip.ranges.0: "fd00::1/8" has host bits set',
    ],
    [
      "a prefix length with a leading zero",
      sans({ ip: { ranges: ["10.0.0.0/08"] } }),
      'profiles.test.subjectAltNames.ip.ranges.0: "10.0.0.0/08" is not CIDR',
    ],
    [
      "a URI prefix that does not end on a path boundary",
      sans({ uri: { prefixes: ["spiffe://example.internal"] } }),
      'profiles.test.subjectAltNames.uri.prefixes.0: URI prefix "spiffe://example.internal" must end with "/"',
    ],
    [
      "an IP range without a prefix",
      sans({ ip: { ranges: ["10.0.0.1"] } }),
      'profiles.test.subjectAltNames.ip.ranges.0: "10.0.0.1" is not CIDR',
    ],
    [
      "an empty range list",
      sans({ ip: { ranges: [] } }),
      "profiles.test.subjectAltNames.ip.ranges: Invalid length: Expected >=1",
    ],
    [
      "an empty DNS domain list",
      sans({ dns: { domains: [] } }),
      "profiles.test.subjectAltNames.dns.domains: Invalid length: Expected >=1",
    ],
    [
      "a wildcard as a domain",
      sans({ dns: { domains: ["*.example.com"] } }),
      'profiles.test.subjectAltNames.dns.domains.0: "*.example.com" is not a domain name',
    ],
    [
      "a domain with a trailing dot",
      sans({ dns: { domains: ["example.com."] } }),
      'profiles.test.subjectAltNames.dns.domains.0: "example.com." is not a domain name',
    ],
    [
      "a URL as a domain",
      sans({ dns: { domains: ["https://example.com"] } }),
      '"https://example.com" is not a domain name',
    ],
    [
      "an empty mail domain list",
      sans({ email: { domains: [] } }),
      "profiles.test.subjectAltNames.email.domains: Invalid length: Expected >=1",
    ],
    [
      "a mail domain written as an address",
      sans({ email: { domains: ["@example.com"] } }),
      'profiles.test.subjectAltNames.email.domains.0: "@example.com" is not a domain name',
    ],
    [
      "a URI prefix that is not a URL",
      sans({ uri: { prefixes: ["example.internal/"] } }),
      "profiles.test.subjectAltNames.uri.prefixes.0: Invalid URL",
    ],
    [
      "wildcards that are not a boolean",
      sans({ dns: { domains: ["example.com"], wildcards: "yes" } }),
      "profiles.test.subjectAltNames.dns.wildcards: Invalid type: Expected boolean",
    ],
    ["no SAN kind at all", sans({}), "profiles.test.subjectAltNames: allow at least one SAN kind"],
    [
      "a SAN kind the CA does not issue",
      sans({ dns: { domains: ["example.com"] }, otherName: {} }),
      'profiles.test.subjectAltNames: unknown field "otherName": allowed fields are dns, ip, email, uri',
    ],
    // keys
    ["no key type", profile({ keys: {} }), "profiles.test.keys: allow at least one key type"],
    [
      "rsa.minBits above rsa.maxBits",
      profile({ keys: { rsa: { minBits: 4096, maxBits: 3072 } } }),
      "profiles.test.keys.rsa: rsa.minBits exceeds rsa.maxBits",
    ],
    [
      "rsa.minBits below 2048",
      profile({ keys: { rsa: { minBits: 1024, maxBits: 4096 } } }),
      "profiles.test.keys.rsa.minBits: Invalid value: Expected >=2048",
    ],
    [
      "rsa.maxBits above 8192",
      profile({ keys: { rsa: { minBits: 2048, maxBits: 16384 } } }),
      "profiles.test.keys.rsa.maxBits: Invalid value: Expected <=8192",
    ],
    [
      "an unsupported curve",
      profile({ keys: { ec: ["P-256", "secp256k1"] } }),
      'profiles.test.keys.ec.1: Invalid type: Expected ("P-256" | "P-384" | "P-521")',
    ],
    [
      "an empty curve list",
      profile({ keys: { ec: [] } }),
      "profiles.test.keys.ec: Invalid length: Expected >=1",
    ],
    [
      "an unknown key type",
      profile({ keys: { ec: ["P-256"], ed25519: true } }),
      'profiles.test.keys: unknown field "ed25519": allowed fields are rsa, ec',
    ],
    // the rest of a profile
    [
      "an unknown profile key (a typo)",
      profile({ maxSan: 3 }),
      'profiles.test: unknown field "maxSan": allowed fields are description, extendedKeyUsage, keys, subjectAltNames, subjectAttributes, subjectValues, maxSans, validity, approval',
    ],
    ["maxSans 0", profile({ maxSans: 0 }), "profiles.test.maxSans: Invalid value: Expected >=1"],
    [
      "maxSans above 100",
      profile({ maxSans: 101 }),
      "profiles.test.maxSans: Invalid value: Expected <=100",
    ],
    [
      "an unknown extended key usage",
      profile({ extendedKeyUsage: ["codeSigning"] }),
      'profiles.test.extendedKeyUsage.0: Invalid type: Expected ("serverAuth" | "clientAuth")',
    ],
    [
      "no extended key usage",
      profile({ extendedKeyUsage: [] }),
      "profiles.test.extendedKeyUsage: Invalid length: Expected >=1",
    ],
    [
      "an unknown subject attribute",
      profile({ subjectAttributes: ["CN", "emailAddress"] }),
      "profiles.test.subjectAttributes.1: Invalid type",
    ],
    [
      "a profile without a description",
      { profiles: { test: { ...profileJson(), description: undefined } } },
      "profiles.test.description: Invalid type: Expected string",
    ],
    // profiles
    [
      "an upper-case profile name",
      { profiles: { Server: profileJson() } },
      "profiles.Server: profile names are lowercase letters, digits and hyphens",
    ],
    [
      "a profile name with a dot",
      { profiles: { "web.server": profileJson() } },
      "profiles.web.server: profile names are lowercase letters, digits and hyphens",
    ],
    ["no profiles", { profiles: {} }, "profiles: define at least one profile"],
    // top level
    [
      "an unknown top-level key",
      { profile: {} },
      'unknown field "profile": allowed fields are $schema, publicBaseUrl, ca, api, mail, crl, notifications, aws, enforcement, identity, profiles',
    ],
    [
      "publicBaseUrl with a trailing slash",
      { publicBaseUrl: "https://pki.example.com/" },
      "publicBaseUrl: publicBaseUrl must be http(s), without a trailing slash, query or fragment",
    ],
    [
      "publicBaseUrl with a query",
      { publicBaseUrl: "https://pki.example.com/pki?x=1" },
      "publicBaseUrl: publicBaseUrl must be http(s)",
    ],
    [
      "publicBaseUrl that is not http(s)",
      { publicBaseUrl: "ftp://pki.example.com" },
      "publicBaseUrl: publicBaseUrl must be http(s)",
    ],
    [
      "publicBaseUrl with non-ASCII characters",
      { publicBaseUrl: "https://pki.example.com/zertifikat-\u00e4" },
      "publicBaseUrl: publicBaseUrl must be printable ASCII",
    ],
    [
      "a CA subject that is not a name",
      { ca: { ...CA, subject: "Example CA" } },
      'ca.subject: ca.subject must look like CN=Name, O=Org: "Example CA" is not TYPE=value with TYPE one of CN, O, OU, C, ST, L',
    ],
    [
      "a CA subject whose country is not a code",
      { ca: { ...CA, subject: "CN=Example CA, C=de" } },
      'ca.subject: ca.subject must look like CN=Name, O=Org: C "de" is not a two-letter ISO 3166 country code such as DE',
    ],
    [
      "a CA subject with a control character",
      { ca: { ...CA, subject: "CN=Example\u0007 CA" } },
      "ca.subject: ca.subject must look like CN=Name, O=Org: CN contains a control character",
    ],
    [
      "a root subject with an unknown attribute",
      { ca: { ...CA, rootSubject: "CN=Root, DC=example" } },
      'ca.rootSubject: ca.rootSubject must look like CN=Name, O=Org: "DC=example" is not TYPE=value with TYPE one of CN, O, OU, C, ST, L',
    ],
    [
      "ca.validityDays 0",
      { ca: { ...CA, validityDays: 0 } },
      "ca.validityDays: Invalid value: Expected >=1",
    ],
    [
      "an unknown ca key",
      { ca: { ...CA, keySpec: "RSA_4096" } },
      'ca: unknown field "keySpec": allowed fields are subject, rootSubject, validityDays, rootValidityDays',
    ],
    [
      "CRL validity over 10 days",
      { crl: { validityHours: 241 } },
      "crl.validityHours: crl.validityHours must be at most 240",
    ],
    [
      "CRL refreshed less often than it lapses",
      { crl: { validityHours: 24, refreshHours: 24 } },
      "crl: crl.refreshHours must be shorter than crl.validityHours",
    ],
    [
      "a fractional grace period",
      { crl: { expiredGraceDays: 1.5 } },
      "crl.expiredGraceDays: crl.expiredGraceDays must be a whole number",
    ],
    // aws
    [
      "a key administrator that is a role session, not a role",
      { aws: { ca: { keyAdmins: ["arn:aws:sts::123456789012:assumed-role/admin/me"] } } },
      "aws.ca.keyAdmins.0: aws.ca.keyAdmins must list IAM role or user ARNs",
    ],
    [
      "no key administrator at all",
      { aws: { ca: { keyAdmins: [] } } },
      "aws.ca.keyAdmins: aws.ca.keyAdmins must list at least one administrator",
    ],
    [
      "a mail identity that does not verify mail.from",
      { mail: { from: "pki@example.com" }, aws: { mail: { identity: "example.org" } } },
      "aws.mail.identity example.org does not verify mail.from pki@example.com",
    ],
    [
      "a mail identity that is another address",
      { mail: { from: "pki@example.com" }, aws: { mail: { identity: "ops@example.com" } } },
      "aws.mail.identity ops@example.com does not verify mail.from pki@example.com",
    ],
    [
      "a shared flag that is not a boolean",
      { aws: { mail: { shared: "yes" } } },
      "aws.mail.shared: aws.mail.shared must be true or false",
    ],
    [
      "an unknown key in aws.mail",
      { aws: { mail: { dkim: true } } },
      'aws.mail: unknown field "dkim": allowed fields are identity, shared, hostedZoneId',
    ],
    [
      "a network mode that does not exist",
      { aws: { network: { mode: "hidden" } } },
      'aws.network.mode: aws.network.mode must be "public" or "private"',
    ],
    [
      "an unknown key in aws.network",
      { aws: { network: { waf: true } } },
      'aws.network: unknown field "waf": allowed fields are mode, firewall, allowCidrs',
    ],
    [
      "a public-mode key in a private network",
      { aws: { network: { ...PRIVATE_NETWORK, allowCidrs: ["10.0.0.0/8"] } } },
      'aws.network: unknown field "allowCidrs": allowed fields are mode, vpcId, subnetIds, securityGroupIds, vpcEndpointIds, domain, serviceEndpoints',
    ],
    [
      "a firewall flag that is not a boolean",
      { aws: { network: { firewall: "on" } } },
      "aws.network.firewall: aws.network.firewall must be true or false",
    ],
    [
      "an allow-list that admits every address",
      { aws: { network: { allowCidrs: ["10.0.0.0/8", "0.0.0.0/0"] } } },
      'aws.network.allowCidrs.1: "0.0.0.0/0" admits every address; leave aws.network.allowCidrs out instead',
    ],
    [
      "an allow-list range with host bits",
      { aws: { network: { allowCidrs: ["192.0.2.1/24"] } } },
      'aws.network.allowCidrs.0: "192.0.2.1/24" has host bits set; write its network address',
    ],
    [
      "an allow-list entry that is an address, not a range",
      { aws: { network: { allowCidrs: ["192.0.2.1"] } } },
      'aws.network.allowCidrs.0: "192.0.2.1" is not CIDR',
    ],
    [
      "an empty allow-list",
      { aws: { network: { allowCidrs: [] } } },
      "aws.network.allowCidrs: aws.network.allowCidrs must list at least one range; leave it out to admit every address",
    ],
    [
      "a private network with a malformed VPC id",
      { aws: { network: { ...PRIVATE_NETWORK, vpcId: "my-vpc" } } },
      "aws.network.vpcId: aws.network.vpcId must be ids like vpc-0123456789abcdef0",
    ],
    [
      "a private network with a subnet that is not a subnet id",
      { aws: { network: { ...PRIVATE_NETWORK, subnetIds: ["sg-0123456789abcdef0"] } } },
      "aws.network.subnetIds.0: aws.network.subnetIds must be ids like subnet-0123456789abcdef0",
    ],
    [
      "a private network without execute-api endpoints",
      { aws: { network: { ...PRIVATE_NETWORK, vpcEndpointIds: [] } } },
      "aws.network.vpcEndpointIds: aws.network.vpcEndpointIds must list at least one execute-api endpoint",
    ],
    [
      "a private domain whose certificate is not an ACM ARN",
      {
        aws: {
          network: {
            ...PRIVATE_NETWORK,
            domain: { name: "pki.corp.example.com", certificateArn: "pki.pem" },
          },
        },
      },
      "aws.network.domain.certificateArn: aws.network.domain.certificateArn must be an ACM certificate ARN in the deployment's Region",
    ],
    [
      "a private network naming an endpoint for a service it never calls",
      {
        aws: {
          network: { ...PRIVATE_NETWORK, serviceEndpoints: { lambda: "vpce-0123456789abcdef0" } },
        },
      },
      "aws.network.serviceEndpoints.lambda: aws.network.serviceEndpoints takes s3, dynamodb, kms, states, events, email, elasticloadbalancing, apigateway, rolesanywhere",
    ],
    [
      "a private network with the public distribution's domain",
      { aws: { network: PRIVATE_NETWORK, domain: { name: "pki.example.com" } } },
      "aws.domain names the public distribution's domain; in private mode the API's is aws.network.domain",
    ],
    [
      "a private network with the built-in sign-in",
      { aws: { network: PRIVATE_NETWORK } },
      "aws.network.mode private needs identity.oidc: the built-in Cognito sign-in is on the internet",
    ],
    [
      "an allow-list without the firewall",
      { aws: { network: { firewall: false, allowCidrs: ["10.0.0.0/8"] } } },
      "aws.network: aws.network.allowCidrs needs aws.network.firewall: the allow-list is a rule of the firewall",
    ],
  ];

  for (const [label, overrides, expected] of cases) {
    test(label, () => {
      const error = assertPkiError(
        () => parseConfig(configJson(overrides), "pki.test.json"),
        "CONFIG_INVALID",
        "pki.test.json: ",
        expected,
      );
      const problems = error.details?.problems;
      assert.ok(Array.isArray(problems));
      assert.ok(
        problems.some((p) => typeof p === "string" && p.includes(expected)),
        JSON.stringify(problems),
      );
    });
  }

  test("every problem is reported, joined with '; '", () => {
    const error = assertPkiError(
      () => parseConfig(configJson(profileWithTwoProblems())),
      "CONFIG_INVALID",
      "configuration: ",
      "profiles.test.maxSans: Invalid value: Expected >=1 but received 0",
      "profiles.test.keys: allow at least one key type",
      "; ",
    );
    const problems = error.details?.problems;
    assert.ok(Array.isArray(problems));
    assert.equal(problems.length, 2);
  });

  function profileWithTwoProblems(): JsonObject {
    return { profiles: { test: profileJson({ maxSans: 0, keys: {} }) } };
  }

  test("input that is not an object at all", () => {
    assertPkiError(
      () => parseConfig(null),
      "CONFIG_INVALID",
      "configuration: expected an object with the fields $schema, publicBaseUrl, ca, api, mail, crl, notifications, aws, enforcement, identity, profiles, not null",
    );
    assertPkiError(() => parseConfig([]), "CONFIG_INVALID", "ca is required; profiles is required");
    assertPkiError(() => parseConfig("{}"), "CONFIG_INVALID", "configuration: expected an object");
  });

  test("a __proto__ key from JSON is refused by name and pollutes nothing", () => {
    const json = configJson({ profiles: JSON.parse('{"__proto__": {"description": "x"}}') });
    assertPkiError(
      () => parseConfig(json),
      "CONFIG_INVALID",
      "profiles: __proto__, constructor, prototype cannot name a profile",
    );
    assert.equal(Object.hasOwn(Object.prototype, "description"), false);
  });

  test("the same approver listed twice does not make up a quorum of two", () => {
    for (const approvers of [
      ["sec@example.com", "sec@example.com"],
      ["sec@example.com", "SEC@example.com"],
    ]) {
      assertPkiError(
        () => parseConfig(configJson(manual({ approvers, quorum: 2 }))),
        "CONFIG_INVALID",
        "profiles.test.approval",
      );
    }
  });
});

describe("loadConfig", () => {
  const dir = mkdtempSync(join(tmpdir(), "policy-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("loads a file and matches parseConfig on the same JSON", () => {
    const path = join(dir, "ok.json");
    writeFileSync(path, JSON.stringify(configJson()));
    assert.deepEqual(loadConfig(path), parseConfig(configJson()));
    assert.deepEqual(
      loadConfig(shippedPath),
      parseConfig(JSON.parse(readFileSync(shippedPath, "utf8"))),
    );
  });

  test("a missing file is CONFIG_INVALID naming the path", () => {
    const path = join(dir, "missing.json");
    assertPkiError(() => loadConfig(path), "CONFIG_INVALID", path, "ENOENT");
  });

  test("a file that is not JSON is CONFIG_INVALID naming the path", () => {
    const path = join(dir, "broken.json");
    writeFileSync(path, '{ "publicBaseUrl": ');
    assertPkiError(() => loadConfig(path), "CONFIG_INVALID", `${path}: `, "JSON");
  });

  test("schema problems are reported against the file's path", () => {
    const path = join(dir, "bad.json");
    writeFileSync(path, JSON.stringify(configJson({ crl: { validityHours: 0 } })));
    assertPkiError(
      () => loadConfig(path),
      "CONFIG_INVALID",
      `${path}: crl.validityHours: crl.validityHours must be at least 0.001`,
    );
  });
});

describe("configuration: the API rate limit", () => {
  test("defaults to a burst of 60 and 10 per second; can be set; nonsense is refused", () => {
    assert.deepEqual(parseConfig(configJson({})).api.rateLimit, { burst: 60, perSecond: 10 });
    assert.deepEqual(
      parseConfig(configJson({ api: { rateLimit: { burst: 5, perSecond: 0.5 } } })).api.rateLimit,
      { burst: 5, perSecond: 0.5 },
    );
    assert.throws(
      () => parseConfig(configJson({ api: { rateLimit: { burst: 0, perSecond: 1 } } })),
      (e) => isPkiError(e, "CONFIG_INVALID") && /api\.rateLimit\.burst/.test(e.message),
    );
    assert.throws(
      () => parseConfig(configJson({ api: { rateLimit: { burst: 5 } } })),
      (e) => isPkiError(e, "CONFIG_INVALID") && /api\.rateLimit\.perSecond/.test(e.message),
    );
  });
});

describe("configuration: publicBaseUrl", () => {
  const shipped = () => {
    const json = JSON.parse(
      readFileSync(new URL("../../../pki.config.json", import.meta.url), "utf8"),
    );
    return json as Record<string, unknown>;
  };

  test("the shipped configuration names none: the default, and it says so", () => {
    assert.equal(namesPublicBaseUrl(shipped()), false);
    assert.equal(parseConfig(shipped()).publicBaseUrl, DEFAULT_PUBLIC_BASE_URL);
  });

  test("a configured one is parsed as given, and named", () => {
    const json = { ...shipped(), publicBaseUrl: "https://pki.example.com" };
    assert.equal(namesPublicBaseUrl(json), true);
    assert.equal(parseConfig(json).publicBaseUrl, "https://pki.example.com");
  });

  test("a parsed configuration parses again to the same (no field of its own is added)", () => {
    const config = parseConfig(shipped());
    assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(config))), config);
  });
});

describe("configuration: renewal and expiry-reminder settings", () => {
  test("defaults: reminders at 30, 7 and 1 days; renewal inherits automatic approval, asks manual approvers again", () => {
    assert.deepEqual(shipped.notifications.expiryReminderDays, [30, 7, 1]);
    assert.deepEqual(shipped.profiles.client!.owners, []);
    const client = renewalPolicyOf(shipped.profiles.client!);
    const server = renewalPolicyOf(shipped.profiles.server!);
    assert.equal(client.approval, "inherit");
    assert.equal(server.approval, "again");
    assert.deepEqual(
      { ...server, approval: undefined },
      {
        approval: undefined,
        startFraction: 2 / 3,
        graceDays: 0,
        reuseKey: false,
        revokeSuperseded: false,
      },
    );
  });

  test("reminder days are kept largest first; the window opens at its fraction and closes after the grace", () => {
    const raw = JSON.parse(readFileSync(shippedPath, "utf8"));
    raw.notifications = { expiryReminderDays: [1, 60, 14] };
    raw.profiles.server.renewal = {
      approval: "inherit",
      window: { startFraction: 0.5, graceDays: 3 },
    };
    const config = parseConfig(raw);
    assert.deepEqual(config.notifications.expiryReminderDays, [60, 14, 1]);
    const policy = renewalPolicyOf(config.profiles.server!);
    assert.equal(policy.approval, "inherit");
    assert.deepEqual(
      renewalWindow("2030-01-01T00:00:00.000Z", "2030-01-11T00:00:00.000Z", policy),
      {
        opensAt: "2030-01-06T00:00:00.000Z",
        closesAt: "2030-01-14T00:00:00.000Z",
      },
    );
  });
});
