/**
 * A scraper in its own process, as Prometheus is: GETs a URL `n` times in sequence after a warm-up
 * and prints the latencies (ms) as one JSON array. Used by bench/accel.ts.
 */
const [url, count] = process.argv.slice(2);
if (url === undefined) throw new Error('usage: scrape-client URL [N]');
const n = Number(count ?? 300);
for (let i = 0; i < 30; i++) await (await fetch(url, { headers: { 'accept-encoding': 'identity' } })).text();
const out: number[] = [];
for (let i = 0; i < n; i++) {
  const t = process.hrtime.bigint();
  const res = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  await res.text();
  out.push(Number(process.hrtime.bigint() - t) / 1e6);
}
console.log(JSON.stringify(out));
