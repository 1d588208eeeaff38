// `@laissez/jwt/options`: the option-name check every laissez factory runs at setup, for the
// sibling packages (@laissez/middleware, laissez) and for adapters written against them: a
// misspelt option is refused with the nearest known name ("did you mean").

export { checkOptions, optionNames } from './lib/options.ts';
