/**
 * Which CA's CRL is asked for: the issuing CA's (the one the certificates it issues point to;
 * the default) or the root's above it, which a relying party that checks the whole chain
 * (`openssl verify -crl_check_all`, Node's `tls` `crl` option) needs as well. The root's CRL
 * is published here only where its key is held too (the local two-tier CA): a one-tier CA has
 * no separate root, and a root kept elsewhere publishes its own CRL.
 */
import { caIdOf } from "../ca/authority.ts";
import { decodePemBlocks } from "../encoding/pem.ts";
import { isPkiError, PkiError } from "../errors.ts";
import type { IssuingCa } from "../workflow/steps/dependencies.ts";
import { type ParsedCertificate, parseCertificate } from "../x509/certificate.ts";
import { crlUrls } from "../x509/crl-distribution-points.ts";

export const crlCas = ["issuing", "root"] as const;
export type CrlCa = (typeof crlCas)[number];

export function isCrlCa(value: string): value is CrlCa {
  return (crlCas as readonly string[]).includes(value);
}

/** The id of the CA whose CRL `which` names. CRL_ROOT_UNAVAILABLE: a one-tier CA's root. */
export async function crlCaId(ca: IssuingCa, which: CrlCa): Promise<string> {
  const chain = await chainOf(ca);
  if (which === "issuing") return caIdOf(chain[0]!.spki);
  if (chain.length < 2) {
    throw new PkiError(
      "CRL_ROOT_UNAVAILABLE",
      "This CA is a single self-signed root, with one CRL: the issuing CA's (ca=issuing, the default).",
    );
  }
  return caIdOf(chain.at(-1)!.spki);
}

/**
 * Why the root's CRL is not published here: not yet (CRL_NOT_PUBLISHED, while its key is
 * here), or never (CRL_ROOT_UNAVAILABLE: the root is kept elsewhere and publishes its own, at
 * the CRL distribution point the issuing CA certificate names).
 */
export async function rootCrlMissing(ca: IssuingCa): Promise<PkiError> {
  if (ca.rootAuthority) {
    try {
      await ca.rootAuthority();
      return new PkiError(
        "CRL_NOT_PUBLISHED",
        "The root CA's first CRL is published moments after the service starts; try again shortly.",
      );
    } catch (error) {
      if (!isPkiError(error, "CA_ROOT_NOT_HELD")) throw error;
    }
  }
  const chain = await chainOf(ca);
  const root = caIdOf(chain.at(-1)!.spki);
  const urls = crlUrls(chain[0]!);
  const where =
    urls.length > 0
      ? `: ${urls.join(", ")} (the issuing CA certificate's CRL distribution point)`
      : "; the issuing CA certificate names no CRL distribution point for it";
  return new PkiError(
    "CRL_ROOT_UNAVAILABLE",
    `The root CA ${root} above this CA is kept elsewhere and publishes its own CRL${where}.`,
  );
}

async function chainOf(ca: IssuingCa): Promise<ParsedCertificate[]> {
  const chain = decodePemBlocks(await ca.chainPem())
    .filter((block) => block.label === "CERTIFICATE")
    .map((block) => parseCertificate(block.der));
  if (chain.length === 0)
    throw new PkiError("CA_NOT_INITIALISED", "The CA chain holds no certificate.");
  return chain;
}
