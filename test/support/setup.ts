// Handlers log JSON through Powertools; tests assert on behaviour, so keep their output quiet
// unless someone asks for it with POWERTOOLS_LOG_LEVEL=DEBUG.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

// The tests run on the project's Node 24 (Makefile); run directly on an older node, the SDK's warning
// that its releases from 2027 need node 22 would only bury the output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// The functions' metrics go to stdout in the embedded metric format; tests that check them turn them on.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
