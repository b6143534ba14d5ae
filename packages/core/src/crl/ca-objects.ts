/**
 * The CA objects published beside the CRL: the CA certificate (DER and PEM) and the trust-store
 * bundle of the whole chain, which ALB trust stores and API Gateway truststores take as one PEM
 * file. Written with every CRL publication but a revocation's, and at once when an operator
 * imports a CA certificate, so the gates (enforcement/) follow a CA change within a minute.
 */
import { publicationKeys, TRUSTSTORE_KEY } from "../ca/publication-urls.ts";
import { decodePemBlocks, encodePem } from "../encoding/pem.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { CA_OBJECT_CACHE_CONTROL } from "./publication-cache.ts";

/**
 * @param caId the id of the CA whose certificate this is (its objects' keys)
 * @param certificateDer that CA's certificate
 * @param chainPem the issuing CA certificate and the certificates above it, root last
 */
export async function publishCaObjects(
  objects: ObjectStore,
  caId: string,
  certificateDer: Uint8Array,
  chainPem: string,
): Promise<void> {
  const keys = publicationKeys(caId);
  const cached = { cacheControl: CA_OBJECT_CACHE_CONTROL };
  await objects.put(keys.caCertificate, certificateDer, "application/pkix-cert", cached);
  await objects.put(
    keys.caCertificatePem,
    encodePem("CERTIFICATE", certificateDer),
    "application/x-pem-file",
    cached,
  );
  const bundle = decodePemBlocks(chainPem)
    .map((block) => encodePem("CERTIFICATE", block.der))
    .join("");
  await objects.put(TRUSTSTORE_KEY, bundle, "application/x-pem-file", cached);
}
