// The in-process runner of the real definition comes from the harness, which the demo uses too.
export * from '../../local/state-machine';
