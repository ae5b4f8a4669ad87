/**
 * Names and Dockerfile text of the image layout contract (docker/README.md): base images are
 * `aiges-ts/base:<version>-<variant>`; a business Dockerfile has no RUN step, only FROM the base
 * (chosen by the AIGES_BASE build argument) and a COPY of the plugin project into
 * /home/aiges/plugin/, owned by the service user 10001.
 */
export const VARIANTS = ['cpu', 'cuda'] as const;
export type Variant = (typeof VARIANTS)[number];

export const SERVICE_USER = '10001:10001';
export const PLUGIN_DIR = '/home/aiges/plugin';

export function baseImageName(version: string, variant: Variant = 'cpu'): string {
  return `aiges-ts/base:${version}-${variant}`;
}

/** The Dockerfile `aiges image build` writes for a project that has none (and `aiges new` scaffolds). */
export function businessDockerfile(version: string, variant: Variant = 'cpu'): string {
  return [
    '# Business image: the aiges-ts base image + this plugin project, served by `aiges serve`',
    `# with ${PLUGIN_DIR}/aiges.toml. No RUN step: it builds on any base root, offline; build native`,
    '# libraries on the host first (they are copied, not compiled here).',
    '#   aiges image build . --tag my-service:1        (docker when a daemon answers, else buildah)',
    `#   docker build --build-arg AIGES_BASE=${baseImageName(version, 'cuda')} -t my-service:1 .`,
    `ARG AIGES_BASE=${baseImageName(version, variant)}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile ARG reference, not a template
    'FROM ${AIGES_BASE}',
    `COPY --chown=${SERVICE_USER} . ${PLUGIN_DIR}/`,
    '',
  ].join('\n');
}

/**
 * Development artefacts a generated business image leaves out, at any depth: folders by name
 * (node_modules is a link out of the image or the dev tree; a plugin's own npm dependencies are
 * bundled into it, or the project brings its own Dockerfile), files by pattern (tests, logs).
 */
export const LEFT_OUT_DIRS = ['.git', 'node_modules', 'coverage', '.nyc_output'] as const;
const TEST_EXTS = ['ts', 'mts', 'cts', 'tsx', 'js', 'mjs', 'cjs', 'jsx'];
export const LEFT_OUT_FILES = [
  ...['test', 'spec'].flatMap((kind) => TEST_EXTS.map((ext) => `*.${kind}.${ext}`)),
  '*.log',
  '*.tsbuildinfo',
] as const;

const leftOutFile = new RegExp(`^(?:[^/]*\\.(?:test|spec)\\.(?:${TEST_EXTS.join('|')})|[^/]*\\.log|[^/]*\\.tsbuildinfo)$`);

/** Whether a project path ('/'-separated, relative to the project) stays out of the image. */
export function isLeftOut(relPath: string): boolean {
  const parts = relPath.split(/[\\/]/);
  if (parts.some((p) => (LEFT_OUT_DIRS as readonly string[]).includes(p))) return true;
  return leftOutFile.test(parts[parts.length - 1] ?? '');
}

/** What never belongs in a business image's plugin folder, as .dockerignore lines (docker and buildah read them). */
export const DOCKERIGNORE = [
  'Dockerfile',
  '.dockerignore',
  ...LEFT_OUT_DIRS.flatMap((d) => [d, `**/${d}`]),
  ...LEFT_OUT_FILES.map((f) => `**/${f}`),
  '',
].join('\n');

/** The aiges.toml written for a project that has none: the project folder is the plugin. */
export const DEFAULT_AIGES_TOML = [
  '# Written by `aiges image build`: the plugin is this folder (its wrapper.ts / index.ts / package.json entry).',
  '[plugin]',
  'path = "."',
  '',
].join('\n');
