/**
 * Strict readers for the extension values the CA inspects: basicConstraints (in CSRs and in CA
 * certificates) and keyUsage. They throw DerError on anything that is not DER; callers turn
 * that into the error of their own context.
 */
import { DerError, DerReader, Tag } from "../der/reader.ts";

export interface BasicConstraints {
  readonly ca: boolean;
  readonly pathLength?: number;
}

export function parseBasicConstraints(value: Uint8Array): BasicConstraints {
  const outer = new DerReader(value);
  const seq = outer.enter(Tag.SEQUENCE, "BasicConstraints");
  outer.finish("BasicConstraints");
  let ca = false;
  if (seq.peekTag() === Tag.BOOLEAN) {
    ca = seq.boolean("cA");
    if (!ca) throw new DerError("cA FALSE is the default and must be omitted in DER");
  }
  const pathLength = seq.atEnd() ? undefined : seq.smallInteger("pathLenConstraint");
  seq.finish("BasicConstraints");
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

/** The keyUsage bits that are set, by position (KeyUsageBit). */
export function keyUsageBits(value: Uint8Array): Set<number> {
  const { bytes } = new DerReader(value).bitString("keyUsage");
  const bits = new Set<number>();
  bytes.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) bits.add(i * 8 + b);
  });
  return bits;
}
