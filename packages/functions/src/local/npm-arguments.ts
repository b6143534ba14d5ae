/**
 * `npm start --port 18787` without `--`: npm takes `--port` for one of its own settings, a
 * boolean it does not know, and passes on only the value. What npm took is in the environment
 * (`npm_config_port=true`, or the value itself for `--port=18787`), so the options are put
 * back together where that is unambiguous; otherwise the answer is the command to run instead.
 */

/** The service's options that take a value, and whether that value is a port number. */
const valueOptions = {
  port: "number",
  "mail-port": "number",
  "oidc-port": "number",
  "data-dir": "path",
  config: "path",
} as const;

type Option = keyof typeof valueOptions;

export type Recovered =
  | {
      readonly args: string[];
      /** When options were put back: the command that passes them without npm's help. */
      readonly note?: string;
    }
  | { readonly error: string };

/** The note for options put back: npm warns about them, and its next major version refuses. */
function noteFor(args: readonly string[]): string {
  return `npm took the options for itself (its next major version will refuse them), so they were put back; to pass them directly: npm start -- ${args.join(" ")}`;
}

export function recoverNpmOptions(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Recovered {
  if (env.npm_lifecycle_event !== "start") return { args: [...args] };
  /** What npm left for `--option`: "true" when it took a bare flag, else the value it kept. */
  const setting = (option: Option) => env[`npm_config_${option.replaceAll("-", "_")}`];
  const taken = (Object.keys(valueOptions) as Option[]).filter((o) => setting(o) !== undefined);
  if (taken.length === 0) return { args: [...args] };
  // `--port=18787`: npm kept the value with the name.
  const recovered = taken
    .filter((o) => setting(o) !== "true")
    .flatMap((o) => [`--${o}`, setting(o)!]);
  // `--port 18787`: the value arrived alone, among the arguments.
  const bare = taken.filter((o) => setting(o) === "true");
  const named = new Set<number>();
  args.forEach((arg, i) => {
    if (arg.startsWith("-")) {
      named.add(i);
      const takesValue = !arg.includes("=") && !["--", "--help", "-h"].includes(arg);
      if (takesValue) named.add(i + 1);
    }
  });
  const values = args.filter((_, i) => !named.has(i));
  const rest = args.filter((_, i) => named.has(i) && args[i] !== "--");
  if (bare.length === 0)
    return { args: [...recovered, ...args], note: noteFor([...recovered, ...args]) };
  const assigned = assign(bare, values);
  if (!assigned) {
    const command = ["npm start --", ...bare.map((o) => `--${o} …`), ...recovered, ...rest].join(
      " ",
    );
    return {
      error: `npm took ${bare.map((o) => `--${o}`).join(" and ")} for itself and passed on only ${values.length === 1 ? "the value" : "the values"} ${values.map((v) => `"${v}"`).join(", ") || "(none)"}, in an order it does not tell. Put -- before the service's options: ${command}`,
    };
  }
  for (const [option, value] of assigned) recovered.push(`--${option}`, value);
  return { args: [...recovered, ...rest], note: noteFor([...recovered, ...rest]) };
}

/** Each bare option's value, when the values can be told apart: one per kind at most. */
function assign(
  bare: readonly Option[],
  values: readonly string[],
): [Option, string][] | undefined {
  if (values.length !== bare.length) return undefined;
  if (bare.length === 1) return [[bare[0]!, values[0]!]];
  const byKind = (kind: "number" | "path") => ({
    options: bare.filter((o) => valueOptions[o] === kind),
    values: values.filter((v) => /^\d+$/.test(v) === (kind === "number")),
  });
  const out: [Option, string][] = [];
  for (const kind of ["number", "path"] as const) {
    const group = byKind(kind);
    if (group.options.length !== group.values.length || group.options.length > 1) return undefined;
    if (group.options.length === 1) out.push([group.options[0]!, group.values[0]!]);
  }
  return out;
}
