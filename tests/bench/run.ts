/**
 * `npm run bench`: measures Tandem against its goals on its own throwaway PostgreSQL
 * (fsync on, as in production) and Redis. Prints a table, writes docs/benchmarks.md and
 * ends with one JSON line of the headline figures.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { repoRoot, setupDatabase } from '../../devstack/db/setup.ts';
import { findPostgresBinDir, startCluster } from '../../devstack/postgres/cluster.ts';
import { startRedisServer } from '../../devstack/redis/server.ts';
import { benchRls, loadScaleData } from './rls.ts';

/** One measured figure, judged against its goal where it has one. */
export interface Figure {
  key: string;
  label: string;
  value: number;
  unit: string;
  goal?: { text: string; met: boolean };
}

function pgbenchCommitRate(url: string): number {
  const bin = findPostgresBinDir();
  if (!bin) return Number.NaN;
  const target = new URL(url);
  const common = ['-h', target.hostname, '-p', target.port, '-U', 'supabase_admin'];
  execFileSync(join(bin, 'pgbench'), [...common, '-i', '-q', '-s', '1', 'pgbench'], { stdio: 'ignore' });
  const output = execFileSync(join(bin, 'pgbench'), [...common, '-N', '-c', '8', '-j', '2', '-T', '10', 'pgbench'], {
    encoding: 'utf8',
  });
  const tps = /tps = ([\d.]+)/.exec(output);
  return tps ? Number(tps[1]) : Number.NaN;
}

function machineDescription(): string[] {
  const version = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '?';
    } catch {
      return 'not found';
    }
  };
  return [
    `- cores: ${cpus().length} (${cpus()[0]?.model ?? 'unknown'})`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- node: ${process.version}; deno: ${version(join(repoRoot, 'node_modules', '.bin', 'deno'), ['--version'])}`,
    `- postgres: ${version(join(findPostgresBinDir() ?? '', 'postgres'), ['--version'])}; redis: ${version('redis-server', ['--version'])}`,
  ];
}

function formatTable(figures: Figure[]): string {
  const rows = figures.map((f) => [f.label, `${f.value} ${f.unit}`, f.goal ? `${f.goal.text} — ${f.goal.met ? 'met' : 'MISSED'}` : '']);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length), 6));
  return rows.map((r) => r.map((cell, i) => (cell ?? '').padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

function writeReport(figures: Figure[], notes: string[]): void {
  const lines = [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}. Each figure is a median of repeated runs;`,
    'compared figures are measured side by side in the same run, on a throwaway PostgreSQL with fsync on.',
    '',
    '## Machine',
    ...machineDescription(),
    '',
    '## Figures',
    '',
    '| figure | value | goal |',
    '|---|---|---|',
    ...figures.map((f) => `| ${f.label} | ${f.value} ${f.unit} | ${f.goal ? `${f.goal.text} — ${f.goal.met ? 'met' : '**missed**'}` : ''} |`),
    '',
    ...notes,
  ];
  mkdirSync(join(repoRoot, 'docs'), { recursive: true });
  writeFileSync(join(repoRoot, 'docs', 'benchmarks.md'), `${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const runs = Number(process.env.TANDEM_BENCH_RUNS ?? 200);
  const cluster = await startCluster({ fsync: true, settings: { max_connections: 400 } });
  const redis = await startRedisServer();
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    await setupDatabase({ url: cluster.url });
    const admin = postgres(cluster.url, { max: 2, onnotice: () => undefined });
    try {
      process.stderr.write('bench: loading 100k projects / 1M memberships…\n');
      await loadScaleData(admin);
      const rls = await benchRls(admin, { runs });
      figures.push(
        { key: 'rls_ms', label: `list ${rls.rows_listed} projects under RLS`, value: rls.rls_ms, unit: 'ms' },
        { key: 'service_ms', label: 'same rows as service_role + explicit filter', value: rls.service_ms, unit: 'ms' },
        { key: 'rls_ratio', label: 'RLS / explicit filter', value: rls.rls_ratio, unit: '×', goal: { text: '≤ 1.5', met: rls.rls_ratio <= 1.5 } },
        { key: 'rls_probe_ms', label: 'Realtime join authorization probe', value: rls.rls_probe_ms, unit: 'ms', goal: { text: '≤ 2 ms', met: rls.rls_probe_ms <= 2 } },
      );
      notes.push(`Data: ${rls.projects} projects, ${rls.memberships} memberships (sql/bench/scale-data.sql).`);
      await admin`create database pgbench`;
    } finally {
      await admin.end();
    }
    const commitRate = pgbenchCommitRate(cluster.url);
    figures.push({ key: 'pgbench_tps', label: 'pgbench -N (commit-rate ceiling)', value: Math.round(commitRate), unit: 'tps' });
  } finally {
    await redis.stop();
    await cluster.destroy();
  }

  writeReport(figures, notes);
  process.stdout.write(`${formatTable(figures)}\n`);
  process.stdout.write(`${JSON.stringify(Object.fromEntries(figures.map((f) => [f.key, f.value])))}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
