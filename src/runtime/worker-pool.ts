/** The worker pool lives in ./pool/ (membership, request ledger, liveness, supervision, and this façade). */
export { WorkerPool, type WorkerPoolOptions } from './pool/worker-pool';
