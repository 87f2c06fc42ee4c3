// Parameter files are read the same way by the harness and the tests.
export * from '../../local/cfg-file';
