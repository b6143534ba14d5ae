/// <reference path="./.sst/platform/config.d.ts" />
/**
 * Deploys the private CA to the current AWS account: `npx sst deploy --stage production`.
 * The configuration is pki.config.json (or the file PKI_CONFIG names), validated before
 * anything is created; docs/deploy.md walks through it.
 */
export default $config({
  async app(input) {
    const { PRODUCTION_STAGE, configPathFromEnvironment, readDeploymentConfig } = await import(
      "./stacks/settings.ts"
    );
    const production = input?.stage === PRODUCTION_STAGE;
    const region = readDeploymentConfig(configPathFromEnvironment()).aws.region;
    return {
      name: "private-ca",
      home: "aws",
      // Production keeps the table, the bucket and the CA key when removed, and refuses
      // `sst remove` altogether.
      removal: production ? "retain" : "remove",
      protect: production,
      providers: { aws: region ? { region } : {} },
    };
  },
  async run() {
    const { deployPki } = await import("./stacks/index.ts");
    return deployPki();
  },
});
