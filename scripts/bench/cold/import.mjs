// Bundle import time: a fresh process imports a handler bundle (BENCH_BUNDLE) and reports; with no bundle, bare Node.
if (process.env.BENCH_BUNDLE) await import(process.env.BENCH_BUNDLE);
process.send?.({ status: 200, uptimeMs: performance.now() });
process.disconnect?.();
