import { peerText } from './peer-text';

/** A worker that said hello and was welcomed. */
export interface Member {
  /** Its ROUTER routing id, as hex: the key everything is filed under. */
  key: string;
  identity: Buffer;
  /** Seeds its envs and labels its batches; never reused within a run. */
  id: number;
  /** The spawned process slot it runs in; null: a remote worker. */
  processSlot: number | null;
  /** Its exploration slot of `numSlots` (see `Membership`). */
  slot: number;
  numEnvs: number;
  /** For the console: id, slot, host (escaped), pid, envs. */
  name: string;
  lastSeen: number;
}

export interface Hello {
  host: string;
  pid: number;
  numEnvs: number | null;
  slot: number | null;
}

/**
 * Who is in the pool: join (hello -> welcome), drop, and the ids and slots they get.
 *
 * Ids: a spawned slot's first process is worker <slot>, as in local mode; restarted processes
 * and remote workers get fresh ids (fresh env seeds), counting on from the number of spawned slots.
 *
 * Slots: there are `numSlots` = max(1, spawned workers) of them, and a worker's policy learns its
 * slot and `numSlots` in its welcome (DQN's Ape-X rates follow the slot). A spawned process has
 * its process slot, restarted or not; its claim is believed only if the hello's pid is that slot's
 * process. A remote worker gets the slot fewest live workers hold (the lowest of those), so remote
 * workers spread over the rates the learner reports, and never widen them.
 */
export class Membership {
  private readonly members = new Map<string, Member>();
  private nextId: number;
  readonly numSlots: number;

  constructor(numSpawned: number) {
    this.nextId = numSpawned;
    this.numSlots = Math.max(1, numSpawned);
  }

  get size(): number {
    return this.members.size;
  }

  get(key: string): Member | undefined {
    return this.members.get(key);
  }

  values(): IterableIterator<Member> {
    return this.members.values();
  }

  /** The live members running in a spawned process slot. */
  inProcessSlot(slot: number): Member[] {
    return [...this.members.values()].filter((m) => m.processSlot === slot);
  }

  /**
   * A new member from its hello. `spawned(slot)`: the pid and restart count of a spawned slot's
   * current process, if any; `defaultEnvs`: envs for a hello that names none.
   */
  join(identity: Buffer, hello: Hello, now: number, defaultEnvs: number, spawned: (slot: number) => { pid: number | undefined; restarts: number } | null): Member {
    const claimed = hello.slot !== null ? spawned(hello.slot) : null;
    const processSlot = claimed && claimed.pid === hello.pid && this.inProcessSlot(hello.slot!).length === 0 ? hello.slot : null;
    const id = processSlot !== null && claimed!.restarts === 0 ? processSlot : this.nextId++;
    const slot = processSlot ?? this.leastHeldSlot();
    const numEnvs = hello.numEnvs ?? defaultEnvs;
    const where = processSlot !== null ? `slot ${processSlot}, ` : '';
    const name = `worker ${id} (${where}${peerText(hello.host, 64)} pid ${hello.pid}, ${numEnvs} envs)`;
    const member: Member = { key: identity.toString('hex'), identity, id, processSlot, slot, numEnvs, name, lastSeen: now };
    this.members.set(member.key, member);
    return member;
  }

  drop(key: string): Member | undefined {
    const m = this.members.get(key);
    this.members.delete(key);
    return m;
  }

  private leastHeldSlot(): number {
    const held = new Array<number>(this.numSlots).fill(0);
    for (const m of this.members.values()) held[m.slot] += 1;
    return held.indexOf(Math.min(...held));
  }
}
