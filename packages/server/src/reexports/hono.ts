// `laissez/hono` is `@laissez/middleware/hono`, kept under this name for code that imports it so. A
// resource server that only verifies tokens installs `@laissez/middleware` alone.
export * from '@laissez/middleware/hono';
export { default } from '@laissez/middleware/hono';
