/**
 * Compile-time checks that a validator and its hand-written type in ../types/ agree exactly: a
 * schema whose parsed output or accepted input differs from the type, in either direction (a field
 * missing, extra, optional instead of required, a wider or narrower union), fails `tsc`.
 */
import type { z } from 'zod';

/** True only when A and B are the same type, not merely assignable one way. */
export type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** True when the schema's output and input are both exactly T. */
export type Matches<S extends z.ZodType, T> = Equals<z.output<S>, T> extends true ? Equals<z.input<S>, T> : false;

/** `type _ = Assert<Matches<typeof Schema, Type>>` does not compile unless they match. */
export type Assert<Ok extends true> = Ok;
