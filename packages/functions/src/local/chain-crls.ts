/**
 * The CRLs of the CAs above the issuing CA, which the local ALB stand-in needs besides the
 * issuing CA's own. Node's `crl` option turns on OpenSSL's CRL_CHECK_ALL: every certificate of
 * the client's chain must be covered by a CRL from its issuer, the issuing CA's certificate by
 * the root's CRL included, or the handshake fails ("unable to get certificate CRL"). Trusting
 * the issuing CA alone as a partial chain does not help: OpenSSL still wants the root's CRL
 * for it. So each CA of the bundle gets its CRL from where a relying party would take it:
 *   - the publication bucket, where the local root's CRL is when its key is held here;
 *   - else the CRL distribution point the CA certificate below it names (an imported CA's
 *     offline root publishes its own CRL there).
 * A CRL found nowhere is reported missing: the gateway then fails closed (every handshake is
 * refused) rather than stop checking revocation, and the sync reports it and tries again.
 */
import { caIdOf } from "@spca/core/ca/authority";
import { publicationKeys } from "@spca/core/ca/publication-urls";
import { decodePemBlocks, encodePem } from "@spca/core/encoding/pem";
import type { ObjectStore } from "@spca/core/store/object-store";
import { parseCertificate } from "@spca/core/x509/certificate";
import { crlUrls } from "@spca/core/x509/crl-distribution-points";

/** How long a distribution point may take to answer. */
const FETCH_TIMEOUT_MS = 5_000;

export interface ChainCrls {
  /** One PEM CRL per CA above the issuing CA that has one. */
  readonly pems: readonly string[];
  /** The CAs whose CRL was found nowhere, with why. */
  readonly missing: readonly string[];
}

export interface ChainCrlSources {
  readonly objects: Pick<ObjectStore, "get">;
  readonly fetch?: typeof fetch;
}

/** The CRLs of every CA in `bundlePem` but the issuing CA `issuingCaId`. */
export async function chainCrls(
  bundlePem: string,
  issuingCaId: string,
  sources: ChainCrlSources,
): Promise<ChainCrls> {
  const certificates = decodePemBlocks(bundlePem)
    .filter((b) => b.label === "CERTIFICATE")
    .map((b) => parseCertificate(b.der));
  const pems: string[] = [];
  const missing: string[] = [];
  for (const ca of certificates) {
    const id = caIdOf(ca.spki);
    if (id === issuingCaId) continue;
    const published = await sources.objects.get(publicationKeys(id).crlPem);
    if (published) {
      pems.push(new TextDecoder().decode(published.body));
      continue;
    }
    const below = certificates.filter((c) => c !== ca && sameBytes(c.issuer, ca.subject));
    const urls = below.flatMap(crlUrls);
    const fetched = await firstCrl(urls, sources.fetch ?? fetch);
    if (fetched.pem) pems.push(fetched.pem);
    else missing.push(`CA ${id}: ${fetched.why}`);
  }
  return { pems, missing };
}

async function firstCrl(
  urls: readonly string[],
  fetchImpl: typeof fetch,
): Promise<{ pem?: string; why: string }> {
  if (urls.length === 0) {
    return { why: "its CRL is not published here and no certificate names a distribution point" };
  }
  const failures: string[] = [];
  for (const url of urls) {
    try {
      const res = await fetchImpl(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      const body = new Uint8Array(await res.arrayBuffer());
      if (!res.ok) {
        failures.push(`${url} answered ${res.status}`);
        continue;
      }
      return { pem: asPem(body), why: "" };
    } catch (error) {
      failures.push(`${url}: ${(error as Error).message}`);
    }
  }
  return { why: failures.join("; ") };
}

/** A CRL as PEM, from DER (what distribution points serve) or PEM. OpenSSL checks it. */
function asPem(body: Uint8Array): string {
  const text = new TextDecoder().decode(body);
  if (text.includes("-----BEGIN X509 CRL-----")) return text;
  return encodePem("X509 CRL", body);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
