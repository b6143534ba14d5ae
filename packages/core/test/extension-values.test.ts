/** The strict extension-value readers shared by CSR intake and CA certificate checks. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DerError } from "../src/der/reader.ts";
import { keyUsageBits, parseBasicConstraints } from "../src/x509/extension-values.ts";
import { KeyUsageBit } from "../src/x509/extensions.ts";

const hex = (h: string) => Uint8Array.from(Buffer.from(h.replaceAll(" ", ""), "hex"));

describe("parseBasicConstraints", () => {
  test("reads an end-entity value, a CA, and a CA with a path length", () => {
    assert.deepEqual(parseBasicConstraints(hex("30 00")), { ca: false });
    assert.deepEqual(parseBasicConstraints(hex("30 03 01 01 ff")), { ca: true });
    assert.deepEqual(parseBasicConstraints(hex("30 06 01 01 ff 02 01 00")), {
      ca: true,
      pathLength: 0,
    });
  });

  for (const [what, value, message] of [
    ["an explicit cA FALSE (not DER)", "30 03 01 01 00", /cA FALSE is the default/],
    ["a BOOLEAN that is neither 00 nor FF", "30 03 01 01 01", /00 or FF/],
    ["a negative path length", "30 06 01 01 ff 02 01 ff", /out of range/],
    ["trailing bytes after the SEQUENCE", "30 00 00", /./],
    ["a field after the path length", "30 09 01 01 ff 02 01 00 02 01 00", /./],
    ["not a SEQUENCE", "04 00", /./],
  ] as const) {
    test(`refuses ${what}`, () => {
      assert.throws(
        () => parseBasicConstraints(hex(value)),
        (e) => e instanceof DerError && message.test(e.message),
      );
    });
  }
});

describe("keyUsageBits", () => {
  test("reads the positions of the set bits", () => {
    // 03 02 01 06: keyCertSign (5) and cRLSign (6), one unused bit.
    assert.deepEqual([...keyUsageBits(hex("03 02 01 06"))].sort(), [
      KeyUsageBit.keyCertSign,
      KeyUsageBit.cRLSign,
    ]);
    assert.deepEqual([...keyUsageBits(hex("03 02 07 80"))], [KeyUsageBit.digitalSignature]);
  });

  test("refuses a value that is not a BIT STRING", () => {
    assert.throws(() => keyUsageBits(hex("04 01 80")), DerError);
  });
});
