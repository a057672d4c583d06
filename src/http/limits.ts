/** Lambda's synchronous invocation payload limit; API Gateway bodies beyond it never arrive. */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;
