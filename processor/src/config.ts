import { baseShape, loadConfig, parseConfig, processorShape } from '../../shared/src/config.js';

export const processorConfigShape = { ...baseShape, ...processorShape };
export type ProcessorConfig = ReturnType<typeof parseProcessorConfig>;
export const DEFAULT_PORT = 8003;

export const parseProcessorConfig = (env?: NodeJS.ProcessEnv) => parseConfig(processorConfigShape, env);
export const loadProcessorConfig = () => loadConfig(processorConfigShape, 'processor');
