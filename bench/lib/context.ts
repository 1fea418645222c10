// What every scenario gets from the orchestrator.
import type { Ceilings, RunResult, Row, ScenarioResult } from './results.js';

export interface Ctx {
  quick: boolean;
  log: (text: string) => void;
  ceilings: Ceilings;
  /** Set by --profile: services write --cpu-prof profiles here. */
  profileDir?: string;
  /** Scenarios already run in this run (soak takes its rate from ingest). */
  done: Record<string, ScenarioResult>;
  previous?: RunResult;
  redisPid?: number;
}

export interface ScenarioOutput {
  rows: Row[];
  figures: Record<string, unknown>;
}

export type Scenario = (ctx: Ctx) => Promise<ScenarioOutput>;
