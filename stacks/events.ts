/** The EventBridge bus the workflow and the API publish typed events on. */
export function eventBus(): sst.aws.Bus {
  return new sst.aws.Bus("Events");
}
