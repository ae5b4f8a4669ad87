/**
 * demo/cuda-normalize: the AIGes C-ABI wrapper that resizes + normalises images in a CUDA kernel,
 * with a CPU path. Exercised through its driver (demo/cuda-normalize/tools/run.cpp), which dlopens
 * the library as the native host will. Two builds: the default one (CUDA when nvcc exists) and a
 * CPU-only one (-DAIGES_WITH_CUDA=OFF). Results are checked against an independent TS reference.
 *
 * On a machine without a GPU (CI) the GPU tests assert the no-GPU behaviour; with a GPU they assert
 * GPU/CPU agreement — every test asserts something either way.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DEMO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../demo/cuda-normalize');
const BUILD = path.join(DEMO, 'build'); // default build: CUDA when nvcc is found
const BUILD_CPU = path.join(DEMO, 'build-cpu'); // -DAIGES_WITH_CUDA=OFF
const TOLERANCE = 1e-4;
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

const nvccOnPath = spawnSync('nvcc', ['--version'], { encoding: 'utf8' }).status === 0;

/** Configures (once) and builds (incrementally, so edits are picked up) one build directory. */
function build(dir: string, extra: string[]): void {
  if (!existsSync(path.join(dir, 'CMakeCache.txt'))) {
    execFileSync('cmake', ['-S', DEMO, '-B', dir, '-DCMAKE_BUILD_TYPE=Release', ...extra], {
      stdio: 'pipe',
      timeout: 300_000,
    });
  }
  execFileSync('cmake', ['--build', dir, '-j2'], { stdio: 'pipe', timeout: 600_000 });
}

interface RunResult {
  status: number | null;
  json: Record<string, any>;
  stderr: string;
}

/** Runs the driver of one build and parses its one-line JSON summary. */
function run(dir: string, args: string[]): RunResult {
  const r = spawnSync(path.join(dir, 'run'), args, { encoding: 'utf8', timeout: 120_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(line);
  } catch {
    throw new Error(`driver printed no JSON (status ${r.status}): ${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, json, stderr: r.stderr };
}

/** Deterministic pseudo-random bytes (mulberry32). */
function randomImage(w: number, h: number, seed: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 255;
  }
  return out;
}

/**
 * Reference bilinear resize (half-pixel centres, align_corners=false, as PyTorch) + normalise.
 * Sample coordinates in float32 exactly as PyTorch computes them for a float tensor (Math.fround
 * after each step); interpolation and normalisation in float64. CHW output.
 */
function reference(img: Uint8Array, inW: number, inH: number, outW: number, outH: number, mean: number[], std: number[]): Float64Array {
  const f = Math.fround;
  const tap = (dst: number, inSize: number, outSize: number) => {
    const scale = f(inSize / outSize);
    const src = Math.max(0, f(f(f(dst + 0.5) * scale) - 0.5));
    const i0 = Math.min(Math.floor(src), inSize - 1);
    return { i0, i1: Math.min(i0 + 1, inSize - 1), w1: src - i0 };
  };
  const out = new Float64Array(3 * outW * outH);
  for (let y = 0; y < outH; y++) {
    const ty = tap(y, inH, outH);
    for (let x = 0; x < outW; x++) {
      const tx = tap(x, inW, outW);
      for (let c = 0; c < 3; c++) {
        const px = (yy: number, xx: number) => img[(yy * inW + xx) * 3 + c]!;
        const top = (1 - tx.w1) * px(ty.i0, tx.i0) + tx.w1 * px(ty.i0, tx.i1);
        const bottom = (1 - tx.w1) * px(ty.i1, tx.i0) + tx.w1 * px(ty.i1, tx.i1);
        const v = (1 - ty.w1) * top + ty.w1 * bottom;
        out[(c * outH + y) * outW + x] = (v / 255 - mean[c]!) / std[c]!;
      }
    }
  }
  return out;
}

function readFloats(file: string): Float32Array {
  const buf = readFileSync(file);
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

let tmp: string;
let gpuPresent = false;
/** Whether CMake found a CUDA compiler for the default build (CMakeCache's CMAKE_CUDA_COMPILER). */
let builtWithCuda = false;

beforeAll(() => {
  build(BUILD, []);
  build(BUILD_CPU, ['-DAIGES_WITH_CUDA=OFF']);
  tmp = mkdtempSync(path.join(tmpdir(), 'cuda-normalize-'));
  const compiler = /^CMAKE_CUDA_COMPILER:\w+=(.*)$/m.exec(readFileSync(path.join(BUILD, 'CMakeCache.txt'), 'utf8'))?.[1] ?? '';
  builtWithCuda = compiler !== '' && !compiler.endsWith('NOTFOUND');
  gpuPresent = run(BUILD, ['--width', '8', '--height', '8']).json.device === 'gpu';
}, 900_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Case {
  name: string;
  inW: number;
  inH: number;
  outW?: number;
  outH?: number;
  mean?: number[];
  std?: number[];
}

const CASES: Case[] = [
  { name: 'upscale 7x5 -> 16x12', inW: 7, inH: 5, outW: 16, outH: 12 },
  { name: 'downscale 64x48 -> 20x15', inW: 64, inH: 48, outW: 20, outH: 15 },
  { name: 'non-square 33x17 -> default 224x224', inW: 33, inH: 17 },
  {
    name: 'non-square output 50x50 -> 31x57, custom mean/std',
    inW: 50,
    inH: 50,
    outW: 31,
    outH: 57,
    mean: [0.5, 0.25, 0],
    std: [0.5, 1, 2],
  },
  { name: '1x1 -> 4x3', inW: 1, inH: 1, outW: 4, outH: 3 },
  { name: '9x7 -> 1x1', inW: 9, inH: 7, outW: 1, outH: 1 },
  { name: 'large 640x480 -> 224x224', inW: 640, inH: 480 },
];

/** Runs one case through a build and returns the tensor and the driver's summary. */
function runCase(
  dir: string,
  c: Case,
  device: string[],
  seed: number,
): { out: Float32Array; ref: Float64Array; json: Record<string, any> } {
  const img = randomImage(c.inW, c.inH, seed);
  const file = path.join(tmp, `in-${seed}.rgb`);
  const dump = path.join(tmp, `out-${seed}-${path.basename(dir)}-${device.join('')}.f32`);
  writeFileSync(file, img);
  const args = [...device, '--image', file, '--width', String(c.inW), '--height', String(c.inH), '--dump', dump, '--compare'];
  if (c.outW) args.push('--param', `out_width=${c.outW}`, '--param', `out_height=${c.outH}`);
  if (c.mean) args.push('--param', `mean=${c.mean.join(',')}`, '--param', `std=${c.std!.join(',')}`);
  const r = run(dir, args);
  expect(r.status, JSON.stringify(r.json) + r.stderr).toBe(0);
  const ref = reference(img, c.inW, c.inH, c.outW ?? 224, c.outH ?? 224, c.mean ?? IMAGENET_MEAN, c.std ?? IMAGENET_STD);
  return { out: readFloats(dump), ref, json: r.json };
}

describe.each<[string, string, string[]]>([
  ['default build (CUDA when nvcc exists), device=cpu', BUILD, ['--device', 'cpu']],
  ['CPU-only build, default device', BUILD_CPU, []],
])('CPU path: %s', (_label, dir, device) => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))('matches the TS reference: %s', (_name, c, i) => {
    const { out, ref, json } = runCase(dir, c, device, 1000 + i);
    expect(json.device).toBe('cpu');
    expect(json.datatype).toBe('FP32');
    expect(json.shape).toEqual([3, c.outH ?? 224, c.outW ?? 224]);
    expect(json.count).toBe(ref.length);
    expect(maxAbsDiff(out, ref)).toBeLessThanOrEqual(TOLERANCE);
    expect(json.compare.ok).toBe(true); // the driver's own C++ reference agrees too
  });

  it('interpolates with half-pixel centres exactly as PyTorch (hand-computed 2x1 -> 4x1)', () => {
    // Grey pixels 0 and 255: PyTorch bilinear align_corners=False gives 0, 63.75, 191.25, 255.
    const file = path.join(tmp, `edge-${path.basename(dir)}.rgb`);
    writeFileSync(file, Uint8Array.from([0, 0, 0, 255, 255, 255]));
    const dump = path.join(tmp, `edge-${path.basename(dir)}.f32`);
    const r = run(dir, [
      ...device,
      '--image',
      file,
      '--width',
      '2',
      '--height',
      '1',
      '--param',
      'out_width=4',
      '--param',
      'out_height=1',
      '--param',
      'mean=0,0,0',
      '--param',
      'std=1,1,1',
      '--dump',
      dump,
    ]);
    expect(r.status).toBe(0);
    const expected = [0, 0.25, 0.75, 1];
    expect(maxAbsDiff(readFloats(dump), [...expected, ...expected, ...expected])).toBeLessThanOrEqual(1e-6);
  });

  it('normalises a uniform image to (v/255 - mean)/std per channel', () => {
    const file = path.join(tmp, `flat-${path.basename(dir)}.rgb`);
    writeFileSync(file, new Uint8Array(10 * 6 * 3).fill(128));
    const dump = path.join(tmp, `flat-${path.basename(dir)}.f32`);
    const r = run(dir, [
      ...device,
      '--image',
      file,
      '--width',
      '10',
      '--height',
      '6',
      '--param',
      'out_width=5',
      '--param',
      'out_height=3',
      '--dump',
      dump,
    ]);
    expect(r.status).toBe(0);
    const out = readFloats(dump);
    for (let c = 0; c < 3; c++) {
      const want = (128 / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
      for (let i = 0; i < 15; i++) expect(Math.abs(out[c * 15 + i]! - want)).toBeLessThanOrEqual(1e-6);
    }
  });

  it.each([
    ['wrong byte count', ['--width', '4', '--height', '4', '--bytes', '47'], 1105, /byte count is not width\*height\*3/],
    ['missing width', ['--width', '4', '--height', '4', '--no-attr', 'width'], 1104, /attribute `width` is missing/],
    ['non-numeric height', ['--width', '4', '--height', '4', '--attr', 'height=4x'], 1104, /attribute `height` must be an integer/],
    ['wrong encoding', ['--width', '4', '--height', '4', '--attr', 'encoding=jpeg'], 1103, /encoding `rgb8`/],
    ['no `image` item', ['--width', '4', '--height', '4', '--key', 'picture'], 1101, /no item with key `image`/],
    ['wrong item type', ['--width', '4', '--height', '4', '--type', '4'], 1102, /type image/],
    ['out_width 0', ['--width', '4', '--height', '4', '--param', 'out_width=0'], 1106, /`out_width`: must be an integer 1\.\.8192/],
    ['mean with two values', ['--width', '4', '--height', '4', '--param', 'mean=0.5,0.5'], 1106, /`mean`/],
    ['std with a zero', ['--width', '4', '--height', '4', '--param', 'std=1,0,1'], 1106, /`std`.*> 0/],
  ] as const)('rejects bad input (%s) with a clear error', (_name, args, code, message) => {
    const r = run(dir, [...device, ...args]);
    expect(r.status).toBe(3); // exec failed
    expect(r.json).toMatchObject({ ok: false, stage: 'exec', code });
    expect(r.json.error).toMatch(message);
  });

  it('rejects an unknown device in the config at init', () => {
    const r = run(dir, ['--device', 'tpu']);
    expect(r.status).toBe(2);
    expect(r.json).toMatchObject({ ok: false, stage: 'init', code: 1001 });
    expect(r.json.error).toMatch(/`device` must be "auto", "gpu" or "cpu"/);
  });

  it('gives identical results from concurrent calls and frees every result', () => {
    const r = run(dir, [...device, '--width', '96', '--height', '64', '--threads', '4', '--repeat', '5']);
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ ok: true, calls: 20, failures: 0, mismatches: 0 });
    expect(r.stderr).not.toMatch(/never passed to wrapperExecFree/);
  });
});

describe('device selection and the CUDA build', () => {
  it('the default build has the CUDA path exactly when CMake found nvcc (always when nvcc is on PATH)', () => {
    if (nvccOnPath) expect(builtWithCuda).toBe(true);
    const r = run(BUILD, ['--device', 'cpu', '--width', '4', '--height', '4']);
    expect(r.status).toBe(0);
    if (builtWithCuda) expect(r.json.version).toMatch(/^cuda-normalize \S+ \(CUDA \d+\.\d+\)$/);
    else expect(r.json.version).toMatch(/\(CPU only\)$/);
    expect(run(BUILD_CPU, ['--width', '4', '--height', '4']).json.version).toMatch(/\(CPU only\)$/);
  });

  it('links no CUDA library dynamically and exports only the wrapper entry points', () => {
    const lib = path.join(BUILD, 'libcuda_normalize.so');
    const deps = execFileSync('ldd', [lib], { encoding: 'utf8' });
    expect(deps).not.toMatch(/libcuda|libcudart/);
    expect(deps).not.toMatch(/not found/);
    const exported = execFileSync('nm', ['-D', '--defined-only', lib], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).pop())
      .sort();
    expect(exported).toEqual(['wrapperError', 'wrapperExec', 'wrapperExecFree', 'wrapperFini', 'wrapperInit', 'wrapperVersion']);
  });

  it('device=auto uses the GPU when there is one, else falls back to CPU and says why', () => {
    const r = run(BUILD, ['--device', 'auto', '--width', '32', '--height', '24', '--compare']);
    expect(r.status).toBe(0);
    expect(r.json.compare.ok).toBe(true);
    if (gpuPresent) {
      expect(r.json.device).toBe('gpu');
      expect(r.stderr).toMatch(/^\[cuda-normalize\] device: GPU 0 ".+" \(compute capability \d+\.\d+, CUDA runtime/m);
    } else {
      expect(r.json.device).toBe('cpu');
      const why = builtWithCuda
        ? /device: CPU \(device = "auto" and no usable CUDA device: cudaGetDeviceCount: /
        : /device: CPU \(built without CUDA\)/;
      expect(r.stderr).toMatch(why);
    }
    // no device key at all = auto
    expect(run(BUILD, ['--width', '8', '--height', '8']).json.device).toBe(r.json.device);
  });

  it('the CUDA-built library loads and runs its CPU path where no GPU/driver is usable', () => {
    // Loading must never need libcuda.so / libcudart.so: dlopen succeeded if the driver printed JSON.
    const r = run(BUILD, ['--width', '20', '--height', '10', '--param', 'out_width=7', '--param', 'out_height=5', '--compare']);
    expect(r.status).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.lib).toBe(path.join(BUILD, 'libcuda_normalize.so'));
    expect(r.json.device).toBe(gpuPresent ? 'gpu' : 'cpu');
    const cpu = run(BUILD, ['--device', 'cpu', '--width', '20', '--height', '10', '--param', 'out_width=7', '--param', 'out_height=5']);
    expect(cpu.stderr).toMatch(/device: CPU \(device = "cpu" in \[wrapper\] config\)/);
    expect(Math.abs(cpu.json.checksum - r.json.checksum)).toBeLessThanOrEqual(1e-3);
  });

  it('device=gpu runs on the GPU when there is one, else fails init naming the CUDA error', () => {
    const r = run(BUILD, ['--device', 'gpu', '--width', '32', '--height', '24']);
    if (gpuPresent) {
      expect(r.status).toBe(0);
      expect(r.json.device).toBe('gpu');
    } else {
      expect(r.status).toBe(2);
      expect(r.json).toMatchObject({ ok: false, stage: 'init' });
      if (builtWithCuda) {
        expect(r.json.code).toBe(1002);
        expect(r.json.error).toMatch(/^no CUDA device is available \(device = "gpu"\): cudaGetDeviceCount: .+ \(cudaError\w+\)$/);
      } else {
        expect(r.json.code).toBe(1003);
      }
      expect(r.stderr).toMatch(/^\[cuda-normalize\] init failed: no CUDA device is available/m);
    }
  });

  it('the CPU-only build fails device=gpu at init: built without CUDA', () => {
    const r = run(BUILD_CPU, ['--device', 'gpu']);
    expect(r.status).toBe(2);
    expect(r.json).toMatchObject({ ok: false, stage: 'init', code: 1003 });
    expect(r.json.error).toMatch(/no CUDA device is available: this library was built without CUDA/);
  });

  it('GPU and CPU agree within the tolerance (or, without a GPU, the GPU path is refused)', () => {
    if (!gpuPresent) {
      // Not skipped: assert that nothing pretends to be a GPU here.
      const auto = run(BUILD, ['--width', '64', '--height', '48']);
      expect(auto.json.device).toBe('cpu');
      expect(run(BUILD, ['--device', 'gpu']).status).toBe(2);
      return;
    }
    CASES.forEach((c, i) => {
      const gpu = runCase(BUILD, c, ['--device', 'gpu'], 2000 + i);
      const cpu = runCase(BUILD, c, ['--device', 'cpu'], 2000 + i);
      expect(gpu.json.device).toBe('gpu');
      expect(maxAbsDiff(gpu.out, gpu.ref)).toBeLessThanOrEqual(TOLERANCE);
      expect(maxAbsDiff(gpu.out, cpu.out)).toBeLessThanOrEqual(TOLERANCE);
    });
    const many = run(BUILD, ['--device', 'gpu', '--width', '1920', '--height', '1080', '--threads', '4', '--repeat', '10', '--compare']);
    expect(many.status).toBe(0);
    expect(many.json).toMatchObject({ ok: true, device: 'gpu', calls: 40, failures: 0, mismatches: 0 });
  });
});
