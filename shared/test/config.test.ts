import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config.js';
import { producerShape } from '../../producer/src/config.js';
import { processorConfigShape } from '../../processor/src/config.js';

describe('configuration', () => {
  it('has the contract defaults', () => {
    const cfg = parseConfig(producerShape, {});
    expect(cfg).toMatchObject({
      REDIS_HOST: '127.0.0.1', REDIS_PORT: 6379, REDIS_STREAM: 'logs', REDIS_GROUP: 'processors',
      DB_HOST: '127.0.0.1', DB_PORT: 5432, POSTGRES_USER: 'postgres', POSTGRES_DB: 'logstream',
      DEFAULT_LOG_MESSAGE: 'log event', INGEST_TOKENS: [], LOG_LEVEL: 'info', MAX_BODY_BYTES: 10 * 1024 * 1024,
    });
  });

  it('parses values and lists from the environment', () => {
    const cfg = parseConfig(processorConfigShape, { BATCH_SIZE: '250', CLAIM_IDLE_MS: '5000', REDIS_STREAM: 'x' });
    expect(cfg.BATCH_SIZE).toBe(250);
    expect(cfg.CLAIM_IDLE_MS).toBe(5000);
    expect(parseConfig(producerShape, { INGEST_TOKENS: ' a, b ,,c' }).INGEST_TOKENS).toEqual(['a', 'b', 'c']);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      parseConfig(processorConfigShape, { REDIS_PORT: 'abc', BATCH_SIZE: '0', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('REDIS_PORT="abc"');
    expect(message).toContain('BATCH_SIZE="0"');
    expect(message).toContain('LOG_LEVEL="loud"');
  });

  it('treats empty values as unset', () => {
    expect(parseConfig(producerShape, { REDIS_PORT: '' }).REDIS_PORT).toBe(6379);
  });
});
