/**
 * Reading the policies a synthesis carries, and the wildcard rule they are held to: every `*`
 * or `?` in an action or a resource is AWS's own requirement or narrowed otherwise, and listed
 * with why in stacks/iam-allow-list.ts. No Allow is open to every principal.
 */
import {
  ACTIONS_ONLY_ON_ANY_RESOURCE,
  ALLOWED_WILDCARD_RESOURCES,
  CONDITIONS_ON_ANY_RESOURCE,
} from "../iam-allow-list.ts";
import { list, type PolicyStatement, policyOf } from "./deployment/synthesized.ts";
import type { Synthesis } from "./synth.ts";

export interface FoundPolicy {
  readonly where: string;
  readonly statements: PolicyStatement[];
  /** A key policy: its `Resource: "*"` is the key it is attached to, not every resource. */
  readonly ofOneResource?: boolean;
}

/** Every IAM policy document the resources carry, with where it came from. */
export function policies(s: Synthesis): FoundPolicy[] {
  const found: FoundPolicy[] = [];
  const add = (where: string, value: unknown, ofOneResource = false) => {
    if (value === undefined) return;
    found.push({ where, statements: policyOf(value).Statement, ofOneResource });
  };
  for (const r of s.resources) {
    if (r.type === "aws:iam/role:Role") {
      add(`${r.name} trust`, r.inputs.assumeRolePolicy);
      for (const p of (r.inputs.inlinePolicies ?? []) as { policy: string }[]) {
        add(`${r.name} inline`, p.policy);
      }
    } else if (r.type === "aws:kms/keyPolicy:KeyPolicy") {
      add(`${r.name} (${r.type})`, r.inputs.policy, true);
    } else if (/Policy$/.test(r.type) && !r.type.startsWith("aws:cloudfront")) {
      add(`${r.name} (${r.type})`, r.inputs.policy);
    }
  }
  return found;
}

/** Wildcards outside the allow-list, and Allow statements open to every principal. */
export function wildcardViolations(docs: readonly FoundPolicy[]): string[] {
  const problems: string[] = [];
  for (const { where, statements, ofOneResource } of docs) {
    for (const s of statements) {
      if (s.Effect !== "Allow") continue; // a Deny narrows: SST's deny of plain HTTP on s3:*
      const actions = list(s.Action);
      for (const action of actions) {
        if (/[*?]/.test(action)) problems.push(`${where}: action ${action}`);
      }
      if (s.Principal === "*" || JSON.stringify(s.Principal ?? "").includes('"*"')) {
        problems.push(`${where}: Allow for every principal`);
      }
      for (const resource of list(s.Resource)) {
        if (!/[*?]/.test(resource)) continue;
        if (resource === "*" && ofOneResource) continue;
        if (resource === "*" && actions.every((a) => a in ACTIONS_ONLY_ON_ANY_RESOURCE)) {
          for (const action of actions) {
            const condition = CONDITIONS_ON_ANY_RESOURCE[action];
            if (condition && !Object.values(s.Condition ?? {}).some((c) => condition in c)) {
              problems.push(`${where}: ${action} on * without its ${condition} condition`);
            }
          }
          continue;
        }
        const allowed = ALLOWED_WILDCARD_RESOURCES.find((w) => w.pattern.test(resource));
        if (!allowed) {
          problems.push(`${where}: ${actions.join(",")} on ${resource}`);
          continue;
        }
        const condition = allowed.requiresCondition;
        if (condition && !Object.values(s.Condition ?? {}).some((c) => condition in c)) {
          problems.push(`${where}: ${resource} without its ${condition} condition`);
        }
      }
    }
  }
  return problems;
}
