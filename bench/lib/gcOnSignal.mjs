// Preloaded into a server the benchmarks measure (NODE_OPTIONS=--expose-gc --import=…): SIGUSR2 runs
// a full garbage collection, so memory is compared between points with no garbage left, not between
// two moments of V8's own collection schedule. Nothing of the product depends on it.
process.on('SIGUSR2', () => {
  if (typeof globalThis.gc === 'function') globalThis.gc();
});
