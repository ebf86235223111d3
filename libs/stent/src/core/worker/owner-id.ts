import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** Names a worker in leases: host, process and a random part (a worker started again is a new one). */
export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
