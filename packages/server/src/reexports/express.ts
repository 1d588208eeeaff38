// `laissez/express` is `@laissez/middleware/express`, kept under this name for code that imports it so. A
// resource server that only verifies tokens installs `@laissez/middleware` alone.
export * from '@laissez/middleware/express';
export { default } from '@laissez/middleware/express';
