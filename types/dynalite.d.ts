/** dynalite ships no types; this is the part the tests and local mode use. */
declare module "dynalite" {
  import type { Server } from "node:http";

  interface DynaliteOptions {
    readonly path?: string;
    readonly createTableMs?: number;
    readonly deleteTableMs?: number;
    readonly updateTableMs?: number;
    readonly maxItemSizeKb?: number;
    readonly verbose?: boolean;
    readonly debug?: boolean;
  }

  export default function dynalite(options?: DynaliteOptions): Server;
}
