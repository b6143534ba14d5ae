/**
 * `pki ca csr|import|show --aws` and `pki keys create --aws`: the deployed CA and table, through
 * the CA function (aws-target.ts); never a data folder or the runtime lock.
 */
import { apiKeyRoles } from "@spca/core/store/request-repository";
import {
  apiKeyOwner,
  apiKeyRole,
  checkSubject,
  expectArgs,
  processOutput,
  readInput,
  UsageError,
} from "./arguments.ts";
import { type AwsCaCommand, pkiResourceFromEnvironment, runAwsCaCommand } from "./aws-target.ts";

/**
 * The commands --aws works with, and the options each takes besides --help and --aws: none of
 * the others mean anything there (it has no data folder, the CA key already exists, and the
 * deployed configuration applies: its ca.subject is the CSR's default).
 */
export const awsCommands: Readonly<
  Record<
    string,
    { readonly takes: readonly string[]; readonly args: number; readonly usage: string }
  >
> = {
  "ca csr": { takes: ["subject"], args: 0, usage: "pki ca csr --aws [--subject DN]" },
  "ca import": { takes: [], args: 1, usage: "pki ca import FILE --aws" },
  "ca show": { takes: [], args: 0, usage: "pki ca show --aws" },
  "keys create": {
    takes: ["role", "owner", "label"],
    args: 0,
    usage: `pki keys create --aws --role ${apiKeyRoles.join("|")} --owner EMAIL [--label TEXT]`,
  },
};

/**
 * `pki ca csr|import|show --aws` and `pki keys create --aws`: the deployed CA and table, through
 * the CA function; never a data folder or the runtime lock.
 */
export async function aws(
  command: string,
  sub: string | undefined,
  rest: readonly string[],
  values: { readonly [name: string]: string | boolean | undefined },
  /** Every option `pki` knows (main.ts), to name the ones --aws does not take. */
  optionNames: readonly string[],
): Promise<number> {
  const name = [command, sub].filter(Boolean).join(" ");
  if (command === "keys" && (sub === "list" || sub === "revoke")) {
    throw new UsageError(
      `pki keys ${sub} --aws is not available: ${sub === "list" ? "list the deployment's keys through its API, GET /v1/keys" : "revoke a deployed key through its API, DELETE /v1/keys/{id}"}, with an admin key (pki keys create --aws --role admin --owner EMAIL makes one)`,
    );
  }
  const spec = awsCommands[name];
  if (!spec) {
    throw new UsageError(
      `--aws works only with pki ca csr, pki ca import FILE, pki ca show and pki keys create, not "pki ${name}"`,
    );
  }
  const misplaced = optionNames.filter(
    (option) => !["help", "aws", ...spec.takes].includes(option) && values[option] !== undefined,
  );
  if (misplaced.length > 0) {
    throw new UsageError(
      `pki ${name} --aws does not take ${misplaced.map((n) => `--${n}`).join(", ")}${misplaced.includes("data-dir") ? " (it acts on the deployment, not a data folder)" : ""}${misplaced.includes("config") ? " (the deployed CA uses its deployed configuration)" : ""}`,
    );
  }
  const [file] = expectArgs(rest, spec.args, spec.usage);
  const subject = values.subject as string | undefined;
  if (subject !== undefined) checkSubject(subject);
  const newKey =
    command === "keys"
      ? {
          role: apiKeyRole(values.role as string | undefined),
          owner: apiKeyOwner(values.owner as string | undefined),
        }
      : undefined;
  const action = newKey ? "create-api-key" : sub!;
  // Usage first, then where the deployment is, then the input file.
  const resource = pkiResourceFromEnvironment(process.env, action);
  const run: AwsCaCommand = newKey
    ? {
        sub: "create-api-key",
        ...newKey,
        label: (values.label as string | undefined) ?? "created with pki keys create --aws",
      }
    : sub === "csr"
      ? { sub, ...(subject === undefined ? {} : { subject }) }
      : sub === "import"
        ? { sub, pem: readInput(file!, "utf8") }
        : { sub: "show" };
  await runAwsCaCommand(run, { resource, out: processOutput });
  return 0;
}
