// The tests' moto_server comes from the harness, which the demo uses too.
export * from '../../local/moto';
