// Regenerates proto/gen into a temp folder and fails if it differs from the committed copy.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const committed = join(root, 'proto/gen');
const fresh = mkdtempSync(join(tmpdir(), 'aiges-proto-'));

const script = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts['proto:gen'];
const args = script
  .split(/\s+/)
  .slice(1)
  .map((a) => (a === '--outDir=proto/gen' ? `--outDir=${fresh}` : a));
execFileSync(join(root, 'node_modules/.bin/proto-loader-gen-types'), args, { cwd: root, stdio: 'inherit' });

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}
const a = new Map(files(committed).map((p) => [relative(committed, p), readFileSync(p, 'utf8')]));
const b = new Map(files(fresh).map((p) => [relative(fresh, p), readFileSync(p, 'utf8')]));
rmSync(fresh, { recursive: true, force: true });
const drift = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
if (drift.length > 0) {
  console.error(`proto/gen is out of date with proto/*.proto (run "npm run proto:gen"): ${drift.join(', ')}`);
  process.exit(1);
}
console.log(`proto/gen matches the .proto sources (${a.size} files)`);
