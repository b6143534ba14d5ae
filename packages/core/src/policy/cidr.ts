/** IP ranges in CIDR notation, for profile IP SAN policy. */
import { textToIp } from "../x509/general-names.ts";

export interface Cidr {
  readonly network: Uint8Array;
  readonly prefix: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.lastIndexOf("/");
  if (slash < 0) return undefined;
  const network = textToIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!network || !/^(0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > network.length * 8) return undefined;
  return { network, prefix };
}

export function cidrContains(range: Cidr, address: Uint8Array): boolean {
  if (range.network.length !== address.length) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((range.network[i]! & mask) !== (address[i]! & mask)) return false;
  }
  return true;
}

/** True when bits beyond the prefix are set (10.1.2.3/8 rather than 10.0.0.0/8). */
export function hasHostBits(range: Cidr): boolean {
  return range.network.some((byte, i) => {
    const kept = Math.min(Math.max(range.prefix - 8 * i, 0), 8);
    return (byte & (0xff >> kept)) !== 0;
  });
}
