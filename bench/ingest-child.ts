/**
 * A child process of the `ingest` bench: `node ingest-child.js '{"connect":..,"sockets":..,"seed":..}'`
 * opens that many impersonated workers (see ingest-load.ts) and runs until it is killed.
 */
import { impersonate } from './ingest-load';

const { connect, sockets, seed } = JSON.parse(process.argv[2]) as { connect: string; sockets: number; seed: number };
impersonate(connect, sockets, seed);

process.on('disconnect', () => process.exit(0)); // the parent is gone (or done): so is this process
