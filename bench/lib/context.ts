// What every scenario gets from the orchestrator, and what it gives back.
import type { RatioRow, RunResult, Row, ScenarioResult } from './results.js';

export interface Ctx {
  quick: boolean;
  log: (text: string) => void;
  /** Set by --profile: services write --cpu-prof profiles here. */
  profileDir?: string;
  /** Scenarios already run in this run (soak takes its rate from ingest). */
  done: Record<string, ScenarioResult>;
  previous?: RunResult;
  redisPid?: number;
}

export interface ScenarioOutput {
  /** How many times the measured part ran (at least MIN_REPETITIONS, bench/lib/stats.ts). */
  repetitions: number;
  /** Headline figures: the pipeline's figure ÷ a baseline measured in the same repetition. */
  ratios: RatioRow[];
  /** Absolute figures and checks. */
  rows: Row[];
  figures: Record<string, unknown>;
}

export type Scenario = (ctx: Ctx) => Promise<ScenarioOutput>;
