/**
 * PEM (RFC 7468): strict base64 between one BEGIN/END pair, tolerating CRLF line ends and
 * whitespace around the block.
 */
export class PemError extends Error {
  override readonly name = "PemError";
}

const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

/**
 * Every PEM block in `text`, in order. Text outside blocks must be whitespace unless
 * `explanatoryText` is set (RFC 7468 section 2 lets certificate bundles carry it); CSRs are
 * read strictly so that a pasted CSR is exactly what is signed.
 */
export function decodePemBlocks(
  text: string,
  options: { explanatoryText?: boolean } = {},
): PemBlock[] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const blocks: PemBlock[] = [];
  let label: string | undefined;
  let body: string[] = [];
  for (const rawLine of lines) {
    const line = rawLine.trim();
    if (label === undefined) {
      if (line === "") continue;
      const begin = /^-----BEGIN ([A-Z0-9 ]+)-----$/.exec(line);
      if (!begin && options.explanatoryText && !line.startsWith("-----")) continue;
      if (!begin) {
        // Only printable characters are echoed, so binary input cannot garble a terminal.
        const shown = line.slice(0, 40).replace(/[^\x20-\x7e]/g, "?");
        throw new PemError(`unexpected text outside a PEM block: "${shown}"`);
      }
      label = begin[1]!;
      body = [];
      continue;
    }
    const end = /^-----END ([A-Z0-9 ]+)-----$/.exec(line);
    if (end) {
      if (end[1] !== label) throw new PemError(`BEGIN ${label} is closed by END ${end[1]}`);
      const b64 = body.join("");
      if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64_LINE.test(b64)) {
        throw new PemError(`the ${label} block is not valid base64`);
      }
      const der = Uint8Array.from(Buffer.from(b64, "base64"));
      blocks.push({ label, der });
      label = undefined;
      continue;
    }
    if (!BASE64_LINE.test(line))
      throw new PemError(`the ${label} block has a line that is not base64`);
    body.push(line);
  }
  if (label !== undefined) throw new PemError(`the ${label} block has no END line`);
  return blocks;
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** True when the bytes look like PEM text rather than DER. */
export function looksLikePem(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 64)).toString("latin1").trimStart();
  return head.startsWith("-----BEGIN");
}
