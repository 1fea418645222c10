// Loaded into a service with NODE_OPTIONS=--import=<this file> by `npm run bench -- --profile`: Node refuses
// --cpu-prof in NODE_OPTIONS, and the services are started by the test helper with fixed arguments, so the
// profile is taken through the inspector instead and written as <dir>/<service>-<pid>.cpuprofile on exit
// (the services exit through process.exit after SIGTERM, which runs 'exit' handlers).
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The same-thread inspector session answers synchronously, so this runs to the end inside 'exit'.
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      const name = (process.argv[1] ?? 'node').replace(/.*\/(\w+)\/src\/index\.ts$/, '$1');
      writeFileSync(`${dir}/${name}-${process.pid}.cpuprofile`, JSON.stringify(res.profile));
    });
  });
}
