// `laissez/client` is `@laissez/client` (the browser client, no dependencies), kept under this name
// for code that imports it so.
export * from '@laissez/client';
