/** Cluster nodes as server processes: shared with the cluster benchmark (bench/lib/clusterProcesses.ts). */
export { startLocalCluster, type LocalCluster, type NodeProcess } from '../../bench/lib/clusterProcesses.js';
