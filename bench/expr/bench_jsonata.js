// Times the reference JSONata implementation (the jsonata npm package in
// bench/js) on the cases printed by `bench_expr --dump`: compiled once,
// evaluations per second. Usage: node bench_jsonata.js cases.json [seconds]
'use strict';
const fs = require('fs');
const path = require('path');
const jsonata = require(path.join(__dirname, '..', 'js', 'node_modules', 'jsonata'));

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const seconds = Number(process.argv[3] || 1);
  console.log('expression benchmark (jsonata-js ' +
              require(path.join(__dirname, '..', 'js', 'node_modules', 'jsonata', 'package.json')).version +
              ', node ' + process.version + '), compiled once, evaluations per CPU-second');
  for (const c of cases) {
    const expr = jsonata(c.expr);
    await expr.evaluate(c.input);
    // warm up the JIT
    for (let i = 0; i < 200; i++) await expr.evaluate(c.input);
    let n = 0;
    // process CPU time (all threads, so the collector counts), as bench_expr measures
    const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
    const start = cpu();
    let elapsed = 0;
    while (elapsed < seconds) {
      for (let i = 0; i < 50; i++) await expr.evaluate(c.input);
      n += 50;
      elapsed = cpu() - start;
    }
    console.log(c.name.padEnd(18) + ' ' + String(Math.round(n / elapsed)).padStart(12));
  }
}
main().catch(e => { console.error(e); process.exit(1); });
