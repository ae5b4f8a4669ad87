/**
 * The `onnx` kind: an ONNX model file served with no code (`aiges serve model.onnx`), through
 * onnxruntime-node; the same wrapper a model repository makes (docs/models.md). The service id
 * is `[plugin.onnx] name`, else the file's name without `.onnx`; a `config.toml` beside the
 * file is the model's config (inputs, outputs, max batch size, instance count).
 */
import { basename } from 'node:path';
import { z } from 'zod';
import { readModelConfig } from '../models/model-config.js';
import { ExecutionProvidersSetting, onnxWrapper } from '../models/onnx-wrapper.js';
import type { PluginKind } from './kinds.js';

export const OnnxSection = z
  .object({
    /** The service id (default: the file name without .onnx). */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .optional(),
    /** ONNX Runtime execution providers, in order of preference: "auto", "cpu", "cuda" (docs/models.md). */
    execution_providers: ExecutionProvidersSetting,
  })
  .strict();

export const onnxKind: PluginKind = {
  name: 'onnx',
  extensions: ['.onnx'],
  section: OnnxSection.prefault({}),
  load(location, settings) {
    const section = OnnxSection.parse(settings.section ?? {});
    const id = section.name ?? basename(location.entry, '.onnx');
    return onnxWrapper({
      id,
      versions: [{ version: '1', file: location.entry }],
      config: readModelConfig(location.dir),
      providers: section.execution_providers,
    });
  },
};
