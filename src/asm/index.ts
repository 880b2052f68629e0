// The lab's assembly language: assembler, disassembler, and the encoding table for the docs.

export { assemble, type AsmChunk, type AsmOptions, type AsmResult, type SourceLine } from './assembler.js';
export { disassemble, disassembleRange, formatListing, type ListingLine, type WordReader } from './disassembler.js';
export { AsmError, type AsmDiagnostic } from './errors.js';
export type { IncludeReader } from './parser.js';
export { renderDirectiveTable, renderEncodingTable, renderPswTable } from './doc-tables.js';
