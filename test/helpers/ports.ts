/** Free loopback ports: shared with the benchmarks (bench/lib/ports.ts). */
export { freeMediaPorts, listening } from '../../bench/lib/ports.js';
