import { baseShape, gatewayShape, loadConfig, parseConfig, processorShape, storageShape } from '@logstream/shared/config.js';

// READ_TOKENS guards the processor's /metrics as it guards the gateway's (issue 11 point 9).
export const processorConfigShape = { ...baseShape, ...processorShape, ...storageShape, READ_TOKENS: gatewayShape.READ_TOKENS };
export type ProcessorConfig = ReturnType<typeof parseProcessorConfig>;
export const DEFAULT_PORT = 8003;

export const parseProcessorConfig = (env?: NodeJS.ProcessEnv) => parseConfig(processorConfigShape, env);
export const loadProcessorConfig = () => loadConfig(processorConfigShape, 'processor');
