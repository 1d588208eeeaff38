// `laissez/fastify` is `@laissez/middleware/fastify`, kept under this name for code that imports it so. A
// resource server that only verifies tokens installs `@laissez/middleware` alone.
export * from '@laissez/middleware/fastify';
export { default } from '@laissez/middleware/fastify';
