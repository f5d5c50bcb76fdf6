/** This package's version (package.json), written into checkpoints and compared with workers'. */
export const PACKAGE_VERSION: string = require('../../package.json').version;
