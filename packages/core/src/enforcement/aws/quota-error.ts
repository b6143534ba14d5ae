/**
 * A refusal of ours, made before calling the service: a quota the call would exceed, or a
 * precondition it needs (a versioned object). Its `code` is what `enforcement.failed` reports
 * (sync.ts), so an alarm or an operator sees which limit it was without reading the message.
 */
export class TargetRefusal extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

/** The object version a gate must be pointed at: an unversioned bucket cannot be used. */
export function requireVersion(
  object: { readonly key: string; readonly versionId: string | undefined },
  bucket: string,
  gate: string,
): string {
  if (object.versionId) return object.versionId;
  throw new TargetRefusal(
    "ObjectVersionMissing",
    `s3://${bucket}/${object.key} has no object version: ${gate} is pointed at an exact version, ` +
      "so the publication bucket must have versioning enabled.",
  );
}
