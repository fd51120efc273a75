// Types for the untyped qlobber package (Aedes's topic matcher), only what
// test/codec-topic-match.test.ts uses.
declare module 'qlobber' {
  export class Qlobber {
    constructor(options: { separator: string; wildcard_one: string; wildcard_some: string; match_empty_levels: boolean });
    add(topic: string, value: unknown): this;
    match(topic: string): unknown[];
  }
}
