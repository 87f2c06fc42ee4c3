import '../../local/polyfills';

// Handlers log JSON through Powertools; tests assert on behaviour, so keep their output quiet
// unless someone asks for it with POWERTOOLS_LOG_LEVEL=DEBUG.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

// The SDK warns that releases from 2027 need node 22. The functions run on nodejs22.x; the
// warning is about this machine's node 20, which only runs the tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
