// One autocannon run, as every HTTP benchmark here drives its servers: the latency and the bytes
// of each 2xx answer are kept (autocannon's per-request times, for exact-rank percentiles), and a
// run with any other answer stops the benchmark, since its figures would measure refusals.
import autocannon from 'autocannon';
import { percentile, round2 } from './common.ts';

export interface LoadRun {
  result: autocannon.Result;
  /** Completed requests, and per second of the run. */
  requests: number;
  rps: number;
  /** 2xx latencies in milliseconds, sorted; p50/p99/max of them. */
  latencies: Float64Array;
  p50: number;
  p99: number;
  max: number;
  /** Mean bytes of a 2xx answer on the wire (status line, headers, body). */
  responseBytes: number;
}

/**
 * Runs autocannon with `options` and waits for the end. `what` names the run in the error thrown
 * when an answer is not 2xx, an error occurs or nothing completes; `hint` adds to that message.
 */
export async function load(options: autocannon.Options, what: string, hint = ''): Promise<LoadRun> {
  const latencies: number[] = [];
  let bytes = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, r) => (error ? reject(error) : resolve(r)));
    instance.on('response', (_client, status, size, time) => {
      if (status >= 200 && status < 300) {
        latencies.push(time);
        bytes += size;
      }
    });
  });
  const requests = result.requests.total;
  if (result.non2xx > 0 || result.errors > 0 || requests === 0) {
    throw new Error(
      `${what}: ${result.non2xx} non-2xx answers (${JSON.stringify(result.statusCodeStats ?? {})}), ` +
        `${result.errors} errors, ${requests} requests in ${result.duration} s. ` +
        `The figures would measure refusals: stopping.${hint ? ` ${hint}` : ''}`,
    );
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    result,
    requests,
    rps: round2(requests / result.duration),
    latencies: sorted,
    p50: round2(percentile(sorted, 0.5)),
    p99: round2(percentile(sorted, 0.99)),
    max: round2(percentile(sorted, 1)),
    responseBytes: round2(bytes / Math.max(1, latencies.length)),
  };
}
