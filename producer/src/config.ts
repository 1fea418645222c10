import { baseShape, ingestShape, loadConfig, parseConfig } from '@logstream/shared/config.js';

export const producerShape = { ...baseShape, ...ingestShape };
export type ProducerConfig = ReturnType<typeof parseProducerConfig>;
export const DEFAULT_PORT = 8001;

export const parseProducerConfig = (env?: NodeJS.ProcessEnv) => parseConfig(producerShape, env);
export const loadProducerConfig = () => loadConfig(producerShape, 'producer');
