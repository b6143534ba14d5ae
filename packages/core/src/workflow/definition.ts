/**
 * The request workflow as one Amazon States Language document (JSONPath), shared by SST (real
 * Lambda ARNs) and the local engine (fake ARNs mapped to in-process step handlers). The JSON
 * names each step function by a placeholder, `${<Name>FunctionArn}`, in its Task state's
 * `Parameters.FunctionName`; `renderDefinition` substitutes every one of them.
 * The contract (states, payloads, results, retries, catches) is docs/workflow.md.
 */
import definitionJson from "./definition.asl.json" with { type: "json" };

/** The step functions the workflow invokes, one Lambda each when deployed. */
export const workflowFunctionNames = [
  "ValidateRequest",
  "StoreRequest",
  "RequestApproval",
  "SignCertificate",
  "StoreCertificate",
  "RecordOutcome",
  "NotifyRequester",
] as const;

export type WorkflowFunctionName = (typeof workflowFunctionNames)[number];

export type WorkflowFunctionArns = Readonly<Record<WorkflowFunctionName, string>>;

/** The definition as stored, placeholders included. Callers get a copy. */
export function definitionTemplate(): unknown {
  return structuredClone(definitionJson);
}

const PLACEHOLDER = /\$\{([A-Za-z0-9]+)FunctionArn\}/g;
const ANY_PLACEHOLDER = /\$\{[^}]*\}/;
/** A function ARN, optionally with a version or alias qualifier. */
const LAMBDA_ARN =
  /^arn:(aws[a-z-]*):lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$/;
/** The Lambda service integrations' ARNs, written in the `aws` partition. */
const INTEGRATION = /^arn:aws:states:::/;

/** Every placeholder name in `value` (any JSON), in order of first appearance. */
export function placeholderNames(value: unknown): string[] {
  const names = new Set<string>();
  forEachString(value, (text) => {
    for (const match of text.matchAll(PLACEHOLDER)) names.add(match[1] as string);
  });
  return [...names];
}

/**
 * The ASL text with every `${<Name>FunctionArn}` replaced by `arns[Name]`. Throws when an ARN is
 * missing, malformed or not one of ours, or when the document names a function we do not know,
 * so a deployment can never carry a placeholder or an unused ARN.
 */
export function renderDefinition(arns: WorkflowFunctionArns): string {
  const known = new Set<string>(workflowFunctionNames);
  const given = Object.keys(arns);
  const unknown = given.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new Error(`Unknown workflow functions: ${unknown.join(", ")}`);
  const missing = workflowFunctionNames.filter((name) => typeof arns[name] !== "string");
  if (missing.length > 0) throw new Error(`Missing ARNs for: ${missing.join(", ")}`);
  for (const name of workflowFunctionNames) {
    if (!LAMBDA_ARN.test(arns[name]))
      throw new Error(`${name}: "${arns[name]}" is not a Lambda function ARN`);
  }
  const referenced = placeholderNames(definitionJson);
  const unlisted = referenced.filter((name) => !known.has(name));
  if (unlisted.length > 0)
    throw new Error(`The definition names unknown functions: ${unlisted.join(", ")}`);
  const unused = workflowFunctionNames.filter((name) => !referenced.includes(name));
  if (unused.length > 0) throw new Error(`The definition never invokes: ${unused.join(", ")}`);

  // The service integrations live in the functions' partition (aws-cn, aws-us-gov, ...).
  const partitions = new Set(workflowFunctionNames.map((name) => LAMBDA_ARN.exec(arns[name])![1]));
  if (partitions.size > 1)
    throw new Error(`The functions are in several partitions: ${[...partitions].join(", ")}`);
  const [partition] = partitions;
  const rendered = mapStrings(definitionJson, (text) =>
    text
      .replace(PLACEHOLDER, (_, name: string) => arns[name as WorkflowFunctionName])
      .replace(INTEGRATION, `arn:${partition}:states:::`),
  );
  forEachString(rendered, (text) => {
    if (ANY_PLACEHOLDER.test(text)) throw new Error(`Placeholder left in the definition: ${text}`);
  });
  return JSON.stringify(rendered, null, 2);
}

/** A copy of a JSON value with `fn` applied to every string value (not to keys). */
function mapStrings(value: unknown, fn: (text: string) => string): unknown {
  if (typeof value === "string") return fn(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, fn));
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
  return value;
}

function forEachString(value: unknown, fn: (text: string) => void): void {
  mapStrings(value, (text) => {
    fn(text);
    return text;
  });
}
