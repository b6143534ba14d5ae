/**
 * Subject values under policy (policy/subject-values.ts): the profile option `subjectValues`
 * as the configuration validates it, and as evaluatePolicy enforces it on real CSRs built
 * in-process (support/csr-builder.ts) and run through intake. The shipped client profile is
 * checked against the case that started it: O=system:masters, which Kubernetes reads as the
 * cluster-admin group.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { type CheckedCsr, checkCsr } from "../src/csr/intake.ts";
import { OID } from "../src/der/oids.ts";
import { type Der, utf8String } from "../src/der/writer.ts";
import { PkiError } from "../src/errors.ts";
import { loadConfig, type Profile, parseConfig } from "../src/policy/config.ts";
import { evaluatePolicy, findProfile } from "../src/policy/evaluate.ts";
import { quoteValue } from "../src/policy/subject-values.ts";
import {
  attributes,
  atv,
  buildCsr,
  dnsName,
  extensionRequest,
  name,
  rdn,
  sanExtension,
  signerFor,
} from "./support/csr-builder.ts";
import { assertPkiError } from "./support/pki-error.ts";
import { shippedConfigPath } from "./support/test-ca.ts";

const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });
const spki = new Uint8Array(keys.publicKey.export({ type: "spki", format: "der" }));

const oidOf = {
  CN: OID.commonName,
  O: OID.organizationName,
  OU: OID.organizationalUnitName,
  L: OID.localityName,
} as const;
type Entry = readonly [keyof typeof oidOf, string];

/** A real CSR for DNS `host` whose subject holds `entries`, one RDN each, in this order. */
function request(entries: readonly Entry[], host = "app.example.internal"): CheckedCsr {
  const rdns = entries.map(([type, value]) => rdn(atv(oidOf[type], utf8String(value))));
  return checkCsr(
    buildCsr({
      subject: name(...rdns),
      spki,
      attributes: attributes(extensionRequest(sanExtension([dnsName(host) as Der]))),
      ...signerFor(keys.privateKey, "ECDSA_SHA_256"),
    }),
  );
}

type JsonObject = { [key: string]: unknown };

/** A configuration with one profile "test" (DNS names under example.internal). */
const configJson = (profile: JsonObject): JsonObject => ({
  publicBaseUrl: "https://pki.example.com",
  ca: { subject: "CN=Test Issuing CA, O=Example" },
  profiles: {
    test: {
      description: "test profile",
      extendedKeyUsage: ["clientAuth"],
      keys: { ec: ["P-256"] },
      subjectAltNames: { dns: { domains: ["example.internal"] } },
      maxSans: 5,
      validity: { defaultDays: 10, maxDays: 20 },
      approval: { mode: "automatic" },
      ...profile,
    },
  },
});

const testProfile = (profile: JsonObject): Profile =>
  findProfile(parseConfig(configJson(profile)), "test");

/** The CONFIG_INVALID problems for a profile "test" with these members. */
function configProblems(profile: JsonObject): string[] {
  try {
    parseConfig(configJson(profile));
  } catch (e) {
    assert.ok(e instanceof PkiError && e.code === "CONFIG_INVALID", String(e));
    return e.details?.problems as string[];
  }
  assert.fail("the configuration was accepted");
}

const allows = (profile: Profile, entries: readonly Entry[]) =>
  evaluatePolicy(request(entries), "test", profile);

// ------------------------------------------------------------------------------------------

describe("subjectValues: configuration", () => {
  test("values, pattern and required are read; required defaults to false", () => {
    const profile = testProfile({
      subjectValues: { O: { values: ["Example"] }, CN: { pattern: "[a-z.]+", required: true } },
    });
    assert.deepEqual(profile.subjectValues, {
      O: { values: ["Example"], required: false },
      CN: { pattern: "[a-z.]+", required: true },
    });
    assert.equal(testProfile({}).subjectValues, undefined);
  });

  const refused: [string, JsonObject, string][] = [
    [
      "a pattern that does not compile",
      { subjectValues: { CN: { pattern: "^[a-z" } } },
      'profiles.test.subjectValues.CN.pattern: "^[a-z" is not a JavaScript regular expression (u flag): Invalid regular expression',
    ],
    [
      "a pattern that compiles only once wrapped (it would escape the anchors)",
      { subjectValues: { CN: { pattern: "a)|(b" } } },
      'profiles.test.subjectValues.CN.pattern: "a)|(b" is not a JavaScript regular expression',
    ],
    [
      "a rule for an attribute subjectAttributes does not list",
      { subjectAttributes: ["CN", "O"], subjectValues: { OU: { values: ["admins"] } } },
      "profiles.test.subjectValues: a rule for OU, which subjectAttributes (CN, O) does not allow: add it there or drop the rule",
    ],
    [
      "an attribute type the CA never issues",
      { subjectValues: { emailAddress: { values: ["a@example.com"] } } },
      'profiles.test.subjectValues: unknown field "emailAddress": allowed fields are CN, O, OU, C, ST, L',
    ],
    [
      "an unknown key in a rule (a typo)",
      { subjectValues: { O: { value: ["Example"] } } },
      'profiles.test.subjectValues.O: unknown field "value": allowed fields are values, pattern, required',
    ],
    [
      "__proto__ as an attribute type",
      { subjectValues: JSON.parse('{"__proto__": {"values": ["x"]}}') },
      'profiles.test.subjectValues: unknown field "__proto__": allowed fields are CN, O, OU, C, ST, L',
    ],
    [
      "both values and pattern",
      { subjectValues: { O: { values: ["Example"], pattern: "Ex.*" } } },
      "profiles.test.subjectValues.O: give either values or pattern, not both",
    ],
    [
      "neither values nor pattern",
      { subjectValues: { O: { required: true } } },
      "profiles.test.subjectValues.O: give either values or pattern, not both",
    ],
    [
      "an empty list of values",
      { subjectValues: { O: { values: [] } } },
      "profiles.test.subjectValues.O.values: list at least one value",
    ],
    [
      "an empty value",
      { subjectValues: { O: { values: [""] } } },
      "profiles.test.subjectValues.O.values.0: a subject value cannot be empty",
    ],
    [
      "an empty pattern",
      { subjectValues: { O: { pattern: "" } } },
      "profiles.test.subjectValues.O.pattern: the pattern cannot be empty",
    ],
    [
      "required that is not a boolean",
      { subjectValues: { O: { values: ["Example"], required: "yes" } } },
      "profiles.test.subjectValues.O.required: Invalid type: Expected boolean",
    ],
  ];
  for (const [what, profile, expected] of refused) {
    test(`refused: ${what}`, () => {
      const problems = configProblems(profile);
      assert.ok(
        problems.some((p) => p.startsWith(expected)),
        `${JSON.stringify(problems)} should include ${JSON.stringify(expected)}`,
      );
    });
  }

  test("a rule for an attribute allowed by the default subjectAttributes is fine", () => {
    const profile = testProfile({ subjectValues: { OU: { values: ["Platform"] } } });
    assert.deepEqual(profile.subjectValues?.OU?.values, ["Platform"]);
  });
});

describe("subjectValues: values", () => {
  const profile = testProfile({ subjectValues: { O: { values: ["Example", "Example Labs"] } } });

  test("a listed value is issued, with the check named", () => {
    const decision = allows(profile, [["O", "Example Labs"]]);
    assert.ok(decision.checks.includes("subject values within profile test's rules"));
  });

  for (const value of ["example", "EXAMPLE", "xExample", "Examplex", "Example ", "Example Lab"]) {
    test(`${JSON.stringify(value)} is refused: exact, case-sensitive match`, () => {
      assertPkiError(
        () => allows(profile, [["O", value]]),
        "POLICY_SUBJECT_VALUE_NOT_ALLOWED",
        `Profile test does not issue subject O ${JSON.stringify(value)}`,
        'it allows one of "Example", "Example Labs"',
      );
    });
  }

  test("an attribute without a rule stays free; an absent one is not required", () => {
    assert.ok(
      allows(profile, [
        ["CN", "app.example.internal"],
        ["L", "Anywhere"],
      ]),
    );
    assert.ok(allows(profile, []));
  });

  test("the forbidden-type check still comes first", () => {
    const narrow = testProfile({
      subjectAttributes: ["CN", "O"],
      subjectValues: { O: { values: ["Example"] } },
    });
    assertPkiError(
      () =>
        allows(narrow, [
          ["O", "Example"],
          ["OU", "admins"],
        ]),
      "CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED",
      "Profile test does not issue subject OU",
    );
  });
});

describe("subjectValues: pattern", () => {
  test("the whole value must match, anchors or not", () => {
    for (const pattern of ["Example", "^Example$", "Ex.mple"]) {
      const profile = testProfile({ subjectValues: { O: { pattern } } });
      assert.ok(allows(profile, [["O", "Example"]]));
      for (const value of ["xExample", "Examplex", "Example\u00a0"]) {
        assertPkiError(
          () => allows(profile, [["O", value]]),
          "POLICY_SUBJECT_VALUE_NOT_ALLOWED",
          `a whole value matching the pattern ${JSON.stringify(pattern)}`,
        );
      }
    }
  });

  test("alternation is anchored as a whole: a|b is exactly a or exactly b", () => {
    const profile = testProfile({ subjectValues: { OU: { pattern: "ops|dev" } } });
    assert.ok(allows(profile, [["OU", "ops"]]));
    assert.ok(allows(profile, [["OU", "dev"]]));
    for (const value of ["xops", "opsx", "devops", "ops|dev"]) {
      assertPkiError(() => allows(profile, [["OU", value]]), "POLICY_SUBJECT_VALUE_NOT_ALLOWED");
    }
  });

  test("a host-name pattern on CN", () => {
    const profile = testProfile({ subjectValues: { CN: { pattern: "^[a-z0-9.-]+$" } } });
    assert.ok(allows(profile, [["CN", "app.example.internal"]]));
    assertPkiError(
      () =>
        evaluatePolicy(
          request([["CN", "APP.example.internal"]], "APP.example.internal"),
          "test",
          profile,
        ),
      "POLICY_SUBJECT_VALUE_NOT_ALLOWED",
      'subject CN "APP.example.internal"',
    );
  });

  test("a pattern is matched by code point (u flag)", () => {
    const profile = testProfile({ subjectValues: { L: { pattern: "." } } });
    assert.ok(allows(profile, [["L", "😀"]]));
  });
});

describe("subjectValues: required", () => {
  const profile = testProfile({ subjectValues: { O: { values: ["Example"], required: true } } });

  test("present and allowed: issued", () => {
    assert.ok(
      allows(profile, [
        ["CN", "app.example.internal"],
        ["O", "Example"],
      ]),
    );
  });

  test("absent: POLICY_SUBJECT_ATTRIBUTE_REQUIRED", () => {
    assertPkiError(
      () => allows(profile, [["CN", "app.example.internal"]]),
      "POLICY_SUBJECT_ATTRIBUTE_REQUIRED",
      'Profile test requires subject O (only "Example")',
    );
    assertPkiError(() => allows(profile, []), "POLICY_SUBJECT_ATTRIBUTE_REQUIRED");
  });

  test("present with another value: the value is what is wrong", () => {
    assertPkiError(() => allows(profile, [["O", "Other"]]), "POLICY_SUBJECT_VALUE_NOT_ALLOWED");
  });
});

describe("subjectValues: every value of a repeated attribute", () => {
  const profile = testProfile({ subjectValues: { O: { values: ["Example"] } } });

  test("one allowed O does not carry a second one", () => {
    for (const entries of [
      [
        ["O", "Example"],
        ["O", "system:masters"],
      ],
      [
        ["O", "system:masters"],
        ["O", "Example"],
      ],
    ] as const) {
      assertPkiError(
        () => allows(profile, entries),
        "POLICY_SUBJECT_VALUE_NOT_ALLOWED",
        '"system:masters"',
      );
    }
  });

  test("the same allowed value twice is issued", () => {
    assert.ok(
      allows(profile, [
        ["O", "Example"],
        ["O", "Example"],
      ]),
    );
  });
});

describe("subjectValues: the message is safe to show", () => {
  const profile = testProfile({ subjectValues: { O: { values: ["Example"] } } });

  const hostile: [string, string, string][] = [
    ["a right-to-left override", "Exa\u202emple", "\\u202e"],
    ["a first-strong isolate", "\u2068Example", "\\u2068"],
    ["a zero-width joiner", "Ex\u200dample", "\\u200d"],
    ["a line separator", "Ex\u2028ample", "\\u2028"],
    ["a tag character (two UTF-16 units)", "Example\u{e0041}", "\\udb40\\udc41"],
    ["a quote and a backslash", 'Ex"am\\ple', 'Ex\\"am\\\\ple'],
  ];
  for (const [what, value, escaped] of hostile) {
    test(`${what} is escaped`, () => {
      const error = assertPkiError(
        () => allows(profile, [["O", value]]),
        "POLICY_SUBJECT_VALUE_NOT_ALLOWED",
        escaped,
      );
      assert.ok(!/[\u2028\u202e\u2068\u200d]|\u{e0041}/u.test(error.message), error.message);
    });
  }

  test("quoteValue leaves ordinary letters readable", () => {
    assert.equal(quoteValue("Société Générale"), '"Société Générale"');
    assert.equal(quoteValue("a\u0085b"), '"a\\u0085b"');
  });
});

describe("subjectValues: the shipped client profile (the issue's case)", () => {
  const shipped = loadConfig(shippedConfigPath);
  const client = findProfile(shipped, "client");
  const decide = (entries: readonly Entry[]) => evaluatePolicy(request(entries), "client", client);

  test("issues CN and O only, O fixed to the organisation", () => {
    assert.deepEqual(client.subjectAttributes, ["CN", "O"]);
    assert.deepEqual(client.subjectValues, { O: { values: ["Example"], required: false } });
  });

  test("O=system:masters, OU=admins is refused (OU first: the profile never issues it)", () => {
    assertPkiError(
      () =>
        decide([
          ["O", "system:masters"],
          ["OU", "admins"],
        ]),
      "CSR_SUBJECT_ATTRIBUTE_UNSUPPORTED",
      "Profile client does not issue subject OU",
    );
  });

  test("O=system:masters alone is POLICY_SUBJECT_VALUE_NOT_ALLOWED", () => {
    assertPkiError(
      () =>
        decide([
          ["CN", "app.example.internal"],
          ["O", "system:masters"],
        ]),
      "POLICY_SUBJECT_VALUE_NOT_ALLOWED",
      'Profile client does not issue subject O "system:masters"; it allows only "Example".',
    );
  });

  test("O=Example is issued; so is a subject without O", () => {
    const decision = decide([
      ["CN", "app.example.internal"],
      ["O", "Example"],
    ]);
    assert.equal(decision.profileName, "client");
    assert.ok(decide([["CN", "app.example.internal"]]));
  });
});
