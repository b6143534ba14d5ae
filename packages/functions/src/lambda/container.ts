/**
 * One AwsServices per Lambda container, from the environment, built on the first invocation
 * (not at import, so a bad variable fails an invocation with its message instead of the init).
 * Each entry point passes the adapters its function uses (see aws-services.ts).
 */
import { type AwsAdapters, AwsServices } from "./aws-services.ts";
import { settingsFromEnvironment } from "./settings.ts";

/** `functionName` is the function's name in stacks/grants.ts, for wiring errors. */
export function containerServices(functionName: string, adapters: AwsAdapters): () => AwsServices {
  let services: AwsServices | undefined;
  return () => {
    services ??= new AwsServices(settingsFromEnvironment(process.env), adapters, functionName);
    return services;
  };
}
