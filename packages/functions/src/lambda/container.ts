/**
 * One AwsServices per Lambda container, from the environment, built on the first invocation
 * (not at import, so a bad variable fails an invocation with its message instead of the init).
 */
import { AwsServices } from "./aws-services.ts";
import { settingsFromEnvironment } from "./settings.ts";

let services: AwsServices | undefined;

export function containerServices(): AwsServices {
  services ??= new AwsServices(settingsFromEnvironment(process.env));
  return services;
}
