/**
 * The known-weak RSA key classes an issuing CA must refuse, checked cheapest first.
 */
import { PkiError } from "../errors.ts";
import { isDebianWeak } from "./debian-weak.ts";
import { fermatFactor } from "./fermat.ts";
import { toBigInt } from "./public-key.ts";
import { hasRocaFingerprint } from "./roca.ts";
import { smallFactorOf } from "./small-factors.ts";

export function checkRsaModulus(modulusBytes: Uint8Array): void {
  const modulus = toBigInt(modulusBytes);
  const factor = smallFactorOf(modulus);
  if (factor !== undefined) {
    throw new PkiError("KEY_RSA_SMALL_FACTOR", `The modulus is divisible by ${factor}.`);
  }
  if (isDebianWeak(modulusBytes)) {
    throw new PkiError(
      "KEY_RSA_DEBIAN_WEAK",
      "Its modulus is on the Debian OpenSSL (DSA-1571) blocklist; generate a new key.",
    );
  }
  if (hasRocaFingerprint(modulus)) {
    throw new PkiError(
      "KEY_RSA_ROCA",
      "Keys from vulnerable Infineon chips can be factored (CVE-2017-15361); generate a new key.",
    );
  }
  if (fermatFactor(modulus) !== undefined) {
    throw new PkiError(
      "KEY_RSA_FERMAT",
      "Fermat's method recovers the private key within 100 rounds.",
    );
  }
}
