// Replaced by the bundler with package.json's version; `dev` when run from source (tests).
declare const PROMDROP_VERSION: string | undefined;
export const VERSION: string = typeof PROMDROP_VERSION === 'string' ? PROMDROP_VERSION : 'dev';
