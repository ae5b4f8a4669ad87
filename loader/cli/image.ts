/**
 * `aiges image`: base images (`stage`, `base`) and business images (`build`), built with docker
 * when a daemon answers and with buildah otherwise. Layout contract: docker/README.md; guide:
 * docs/images.md. Errors print as `aiges image <verb>: [IMAGE_…] message` and exit 2 (bad input, no
 * builder) or 1 (the build itself failed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { buildCommand, parseBuildArg, DEFAULT_BUILDAH, type BuildahSettings } from '../tools/image/argv.js';
import { detectBuilder, type BuilderChoice } from '../tools/image/builder.js';
import { planBusinessBuild } from '../tools/image/business.js';
import { baseImageName, VARIANTS, type Variant } from '../tools/image/dockerfile.js';
import { isToolError, USAGE_EXIT_CODE } from '../tools/errors.js';
import { ImageCodes, imageError } from '../tools/image/errors.js';
import { commandLine, runBuild } from '../tools/image/run.js';
import { packageVersion, stageBaseContext } from '../tools/image/stage.js';
import { offlineHint, storeHint } from '../tools/image/upstream.js';
import { printError } from './fail.js';
import { examples } from './help.js';

interface BuilderFlags {
  builder: BuilderChoice;
  storageRoot?: string;
  runRoot?: string;
  storageDriver: string;
  buildArg: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

function builderOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--builder <name>', 'docker, buildah, or auto: docker when a daemon answers, else buildah')
        .choices(['auto', 'docker', 'buildah'])
        .default('auto'),
    )
    .option('--storage-root <dir>', 'buildah: image storage folder (--root); implies buildah under auto')
    .option('--run-root <dir>', 'buildah: state folder (--runroot); implies buildah under auto')
    .option(
      '--storage-driver <driver>',
      'buildah: storage driver (docker/local-root.sh uses the same default)',
      DEFAULT_BUILDAH.storageDriver,
    )
    .option('--build-arg <NAME=value>', 'extra build argument (repeatable)', collect, []);
}

/** Resolves the builder; buildah storage flags mean buildah under auto, and contradict docker. */
function resolveBuilder(flags: BuilderFlags) {
  const storage = flags.storageRoot !== undefined || flags.runRoot !== undefined;
  if (storage && flags.builder === 'docker') {
    throw imageError(ImageCodes.BAD_ARGUMENT, '--storage-root/--run-root are buildah options; they do not apply to --builder docker');
  }
  const builder = detectBuilder(storage && flags.builder === 'auto' ? 'buildah' : flags.builder);
  const buildah: BuildahSettings = {
    ...DEFAULT_BUILDAH,
    storageDriver: flags.storageDriver,
    ...(flags.storageRoot === undefined ? {} : { root: resolve(flags.storageRoot) }),
    ...(flags.runRoot === undefined ? {} : { runroot: resolve(flags.runRoot) }),
  };
  return { builder, buildah };
}

/** The hints that apply, as one; undefined when none does. */
const joinHints = (hints: (string | undefined)[]) => hints.filter((h) => h !== undefined).join('; ') || undefined;

/** Runs a verb's body; a failure is `aiges image <verb>: [CODE] message` and the error's exit code. */
async function reportErrors(verb: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    printError(`image ${verb}`, err);
    process.exitCode = isToolError(err) ? err.exitCode : USAGE_EXIT_CODE;
  }
}

function stageCommand(): Command {
  return new Command('stage')
    .description('Assemble the build context of the base images (for docker build by hand).')
    .argument('<out-dir>', 'folder to create (must be absent or empty)')
    .addHelpText('after', examples('aiges image stage /tmp/aiges-ctx && docker build -f /tmp/aiges-ctx/Dockerfile.cpu /tmp/aiges-ctx'))
    .action((out: string) =>
      reportErrors('stage', async () => {
        const context = await stageBaseContext(resolve(out));
        process.stdout.write(
          `staged ${context}\n  docker build -f ${join(context, 'Dockerfile.cpu')} -t ${baseImageName(packageVersion())} ${context}\n`,
        );
      }),
    );
}

interface BaseFlags extends BuilderFlags {
  variant: Variant;
  from?: string;
  nodeImage?: string;
  tag?: string;
}

function baseCommand(): Command {
  return builderOptions(
    new Command('base')
      .description('Build a base image (the loader on Node; cpu or cuda) from this checkout.')
      .addOption(new Option('--variant <variant>', 'cpu or cuda').choices([...VARIANTS]).default('cpu'))
      .option('--from <image>', 'upstream image (build arg BASE; default node:20-bookworm-slim, or a CUDA runtime image for cuda)')
      .option('--node-image <image>', 'cuda: the image Node is copied from (build arg NODE_IMAGE)')
      .option('--tag <tag>', 'image name (default aiges-ts/base:<version>-<variant>)')
      .addHelpText(
        'after',
        examples(
          'aiges image base --variant cpu                                   # FROM node:20-bookworm-slim',
          'aiges image base --builder buildah --from localhost/node-root:20 # offline (docs/images.md)',
        ),
      ),
  ).action((flags: BaseFlags) =>
    reportErrors('base', async () => {
      const { builder, buildah } = resolveBuilder(flags);
      const buildArgs = Object.fromEntries(flags.buildArg.map(parseBuildArg));
      if (flags.from !== undefined) buildArgs['BASE'] = flags.from;
      if (flags.nodeImage !== undefined) buildArgs['NODE_IMAGE'] = flags.nodeImage;
      const tag = flags.tag ?? baseImageName(packageVersion(), flags.variant);
      const context = mkdtempSync(join(tmpdir(), 'aiges-base-'));
      try {
        await stageBaseContext(context);
        const cmd = buildCommand(builder, { context, dockerfile: join(context, `Dockerfile.${flags.variant}`), tag, buildArgs }, buildah);
        process.stdout.write(`aiges image base: ${commandLine(cmd)}\n`);
        const hints = [offlineHint(flags.variant, buildArgs), builder === 'buildah' ? storeHint(buildah) : undefined];
        await runBuild(cmd, process.env, joinHints(hints));
        process.stdout.write(`built ${tag}\n`);
      } finally {
        rmSync(context, { recursive: true, force: true });
      }
    }),
  );
}

interface BuildFlags extends BuilderFlags {
  base?: string;
  tag: string;
  variant: Variant;
}

function buildBusinessCommand(): Command {
  return builderOptions(
    new Command('build')
      .description("Build a business image: a base image + the plugin project (its Dockerfile, or the contract's).")
      .argument('<plugin-dir>', 'the plugin project folder (aiges.toml, wrapper, models/, samples/)')
      .requiredOption('--tag <tag>', 'image name, e.g. my-service:1')
      .option('--base <image>', 'base image (build arg AIGES_BASE; default aiges-ts/base:<version>-<variant>)')
      .addOption(
        new Option('--variant <variant>', 'which default base a generated Dockerfile names').choices([...VARIANTS]).default('cpu'),
      ),
  )
    .addHelpText(
      'after',
      examples(
        'aiges image build my-plugins/hello --tag hello:0.1.0',
        'aiges image build demo/echo --base localhost/aiges-ts/base:0.1.0-cpu --tag echo:1 --builder buildah',
      ),
    )
    .action((dir: string, flags: BuildFlags) =>
      reportErrors('build', async () => {
        const plan = planBusinessBuild(dir, packageVersion(), flags.variant);
        try {
          const { builder, buildah } = resolveBuilder(flags);
          const buildArgs = Object.fromEntries(flags.buildArg.map(parseBuildArg));
          if (flags.base !== undefined) buildArgs['AIGES_BASE'] = flags.base;
          if (plan.generated.length > 0)
            process.stdout.write(`aiges image build: generated ${plan.generated.join(', ')} (the project has none)\n`);
          const cmd = buildCommand(builder, { context: plan.context, dockerfile: plan.dockerfile, tag: flags.tag, buildArgs }, buildah);
          process.stdout.write(`aiges image build: ${commandLine(cmd)}\n`);
          await runBuild(cmd, process.env, builder === 'buildah' ? storeHint(buildah) : undefined);
          process.stdout.write(`built ${flags.tag}\n`);
        } finally {
          plan.cleanup();
        }
      }),
    );
}

export function imageCommand(): Command {
  return new Command('image')
    .description('Build base images and business images (docker when a daemon answers, else buildah).')
    .addHelpText(
      'after',
      examples(
        'aiges image base --variant cpu',
        'aiges image build my-plugins/hello --tag hello:0.1.0',
        'aiges image stage /tmp/aiges-ctx',
      ),
    )
    .addCommand(stageCommand())
    .addCommand(baseCommand())
    .addCommand(buildBusinessCommand());
}
