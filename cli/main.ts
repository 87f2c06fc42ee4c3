import { runCli } from './run-cli';

runCli(process.argv).then((code) => {
  process.exitCode = code;
});
