import { runCli } from './cli/program';

// The `zoom-runbooks` command (bin/zoom-runbooks); commands are defined in src/apps/cli/program.ts.
if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
