/** The enforcement-state port: what each gate was last brought in step with. */
import type { TargetState } from "./target.ts";

export interface EnforcementStateStore {
  get(target: string): Promise<TargetState | undefined>;
  put(state: TargetState): Promise<void>;
}
