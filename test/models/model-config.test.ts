/** A repository model's config.toml and the repository layout scan (unit tier, real files). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readModelConfig, servedVersions } from '../../loader/models/model-config.js';
import { scanRepository } from '../../loader/models/repository.js';

const root = mkdtempSync(join(tmpdir(), 'aiges-model-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function configIn(name: string, toml: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.toml'), toml);
  return dir;
}

describe('config.toml', () => {
  it('defaults without a file: no batch dimension, one instance, the latest version', () => {
    mkdirSync(join(root, 'none'));
    expect(readModelConfig(join(root, 'none'))).toEqual({ max_batch_size: 0, instance_count: 1, version_policy: { latest: 1 } });
  });

  it('reads inputs, outputs, max_batch_size, instance_count and each version policy', () => {
    const dir = configIn(
      'full',
      'max_batch_size = 8\ninstance_count = 2\nversion_policy = { specific = [1, 3] }\n' +
        '[[inputs]]\nname = "x"\ndatatype = "FP32"\ndims = [4]\n[[outputs]]\nname = "y"\n',
    );
    expect(readModelConfig(dir)).toEqual({
      max_batch_size: 8,
      instance_count: 2,
      version_policy: { specific: [1, 3] },
      inputs: [{ name: 'x', datatype: 'FP32', dims: [4] }],
      outputs: [{ name: 'y' }],
    });
    expect(readModelConfig(configIn('all', 'version_policy = { all = true }\n')).version_policy).toEqual({ all: true });
  });

  it('an unknown key or a bad value names the file and the key', () => {
    const dir = configIn('unknown', 'max_batch = 4\n[[inputs]]\nname = "x"\nshape = [1]\n');
    expect(() => readModelConfig(dir)).toThrow(`${join(dir, 'config.toml')}: unknown key "inputs[0].shape"; unknown key "max_batch"`);
    const bad = configIn('bad', 'instance_count = 0\n');
    expect(() => readModelConfig(bad)).toThrow(/config\.toml: key "instance_count": /);
    const policy = configIn('policy', 'version_policy = { newest = 2 }\n');
    expect(() => readModelConfig(policy)).toThrow('version_policy must be { latest = N }, { all = true } or { specific = [versions] }');
    const datatype = configIn('datatype', '[[inputs]]\nname = "x"\ndatatype = "float"\n');
    expect(() => readModelConfig(datatype)).toThrow(/key "inputs\[0\]\.datatype"/);
    const toml = configIn('toml', 'max_batch_size = \n');
    expect(() => readModelConfig(toml)).toThrow(join(toml, 'config.toml'));
  });

  it('version policies pick from the versions on disk', () => {
    expect(servedVersions({ latest: 1 }, [3, 1, 10, 2])).toEqual([10]);
    expect(servedVersions({ latest: 2 }, [3, 1, 10, 2])).toEqual([3, 10]);
    expect(servedVersions({ all: true }, [3, 1, 2])).toEqual([1, 2, 3]);
    expect(servedVersions({ specific: [1, 3, 7] }, [3, 1, 2])).toEqual([1, 3]);
    expect(servedVersions({ latest: 1 }, [])).toEqual([]);
  });
});

describe('layout scan', () => {
  it('finds <model>/<version>/model.onnx; ignores files, non-numeric folders and versions without a model', () => {
    const repo = join(root, 'repo');
    for (const p of ['a/1', 'a/2', 'a/x', 'a/3', 'b', '.hidden/1']) mkdirSync(join(repo, p), { recursive: true });
    for (const p of ['a/1/model.onnx', 'a/2/model.onnx', 'a/x/model.onnx', '.hidden/1/model.onnx', 'README.md']) {
      writeFileSync(join(repo, p), 'x');
    }
    const found = scanRepository(repo);
    expect([...found.keys()]).toEqual(['a', 'b']);
    expect(found.get('a')?.versions).toEqual([1, 2]);
    expect(found.get('b')?.versions).toEqual([]);
    expect(() => scanRepository(join(root, 'missing'))).toThrow(`model repository ${join(root, 'missing')} is not a folder`);
  });
});
