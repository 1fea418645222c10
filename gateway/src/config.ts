import { baseShape, gatewayShape, loadConfig, parseConfig } from '@logstream/shared/config.js';

export const gatewayConfigShape = { ...baseShape, ...gatewayShape };
export type GatewayConfig = ReturnType<typeof parseGatewayConfig>;
export const DEFAULT_PORT = 8002;

export const parseGatewayConfig = (env?: NodeJS.ProcessEnv) => parseConfig(gatewayConfigShape, env);
export const loadGatewayConfig = () => loadConfig(gatewayConfigShape, 'gateway');
