// Paging as pure data and functions: geometries and entry formats as rows, one walker for
// every row (and for both stages of nested paging), permission rules per architecture, table
// builders and the allowed set of a non-coherent TLB. Imports nothing else of ours.

export * from './bus.js';
export * from './formats.js';
export * from './geometry.js';
export * from './rules.js';
export * from './walk.js';
export * from './nested.js';
export * from './build.js';
export * from './allowed.js';
