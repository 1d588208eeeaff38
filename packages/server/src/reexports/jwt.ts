// `laissez/jwt` is `@laissez/jwt`: installed with laissez, kept under this name for code that
// imports it so. A project that needs only the JWT library installs `@laissez/jwt` alone.
export * from '@laissez/jwt';
