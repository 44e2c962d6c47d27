/**
 * -H: files hard-linked together in SRC become hard-linked together in DEST. Workers hand back every
 * sized file with more than one link, keyed by its source `dev:ino`. The first of a group (the
 * leader) is copied as usual; the others wait for it and are then made links to its copy, through a
 * temp name and a rename like every other entry, if their source is still that file (a name renamed
 * over since is a change, as for any file).
 *
 * Each name still obeys the overwrite mode as a file of its own, as with rsync -H: an existing
 * destination kept by --ignore-existing or --update stays as it is. A leader kept so does not hold
 * the source's data, and one that failed (its name gone, its destination in the way) holds none at
 * all: the next name of the group is copied as the leader instead, and fails or not on its own.
 */
import fs from 'node:fs';
import { osPath } from './byte-names.js';
import { dryRunWrite, existingOutcome, renameOver, statSource, type CopyOutcome, type CopyPolicy } from './copy-file.js';
import { EntryFailure, entryError, serializeError, type SerializedError } from './errors.js';
import { fileKey, sourceStatOf, type SourceStat } from './metadata.js';
import { tempPathOf, under } from './protocol.js';

/** What the groups need of the pool. */
export interface LinkJobs {
  rel(id: number): string;
  fresh(id: number): boolean;
  copyAsLeader(id: number): void;
  settle(id: number, outcome: CopyOutcome | SerializedError): void;
}

interface LinkGroup {
  key: string;
  leader: number;
  /** What became of the leader, once it is done (until then its names wait); a dry run compares names with its copy only if it stays. */
  leaderOutcome?: CopyOutcome;
  followers: number[];
}

export class HardLinkGroups {
  private readonly byKey = new Map<string, LinkGroup>();
  private readonly byLeader = new Map<number, LinkGroup>();

  constructor(
    private readonly jobs: LinkJobs,
    private readonly srcRoot: string,
    private readonly destRoot: string,
    private readonly runTag: string,
    private readonly policy: CopyPolicy,
  ) {}

  /** A file with several links was handed back: copy it as a leader, or wait for / link to its leader. */
  handedBack(id: number, key: string): void {
    const group = this.byKey.get(key);
    if (!group || group.leader === id) {
      if (!group) {
        const created: LinkGroup = { key, leader: id, followers: [] };
        this.byKey.set(key, created);
        this.byLeader.set(id, created);
      }
      return this.jobs.copyAsLeader(id);
    }
    if (group.leaderOutcome === undefined) group.followers.push(id);
    else this.link(group, id);
  }

  /**
   * A job finished; if it leads a group, the waiting links are made now. A leader `kept` (its
   * destination left as it was) leads no more: the next name waiting is copied as the leader, or
   * the next to come (as after a failure).
   */
  done(id: number, outcome: CopyOutcome): void {
    const group = this.byLeader.get(id);
    if (!group) return;
    if (outcome === 'kept') return this.passLead(group);
    // Its copy is the group's data only if its name still is the group's file: a name renamed over
    // between its sizing and its copy (which stats it again) was copied as the file it is now.
    if (!this.policy.dryRun && !this.stillInGroup(id, group)) return this.passLead(group);
    group.leaderOutcome = outcome;
    for (const follower of group.followers) this.link(group, follower);
    group.followers = [];
  }

  /** The next name that is not kept as it is leads; names kept as they are are settled here (no worker needed). */
  private passLead(group: LinkGroup): void {
    this.byLeader.delete(group.leader);
    let next = group.followers.shift();
    while (next !== undefined && this.keptAsIs(next)) {
      this.jobs.settle(next, 'kept');
      next = group.followers.shift();
    }
    if (next === undefined) {
      this.byKey.delete(group.key);
      return;
    }
    group.leader = next;
    this.byLeader.set(next, group);
    this.jobs.copyAsLeader(next);
  }

  /** --ignore-existing / --update keep what DEST has under this name (an error here: let the copy tell). */
  private keptAsIs(id: number): boolean {
    const { policy } = this;
    if (policy.overwrite !== 'never' && policy.overwrite !== 'update') return false;
    try {
      return existingOutcome(under(this.destRoot, this.jobs.rel(id)), this.sourceStat(id), policy, () => false) === 'kept';
    } catch {
      return false;
    }
  }

  private stillInGroup(id: number, group: LinkGroup): boolean {
    try {
      return fileKey(this.sourceStat(id)) === group.key;
    } catch {
      return false;
    }
  }

  /** The source's stat of job `id` (-L: what it points to). */
  private sourceStat(id: number): SourceStat {
    return sourceStatOf(statSource(under(this.srcRoot, this.jobs.rel(id)), this.policy.dereference));
  }

  /** A job failed; if it leads a group, the next name waiting is copied as the leader (or the next to come). */
  failed(id: number): void {
    const group = this.byLeader.get(id);
    if (group) this.passLead(group);
  }

  /**
   * Makes DEST/follower a hard link to the leader's copy, through a temp name and rename, unless the
   * overwrite mode keeps what is there (or it is that link already).
   */
  private link(group: LinkGroup, id: number): void {
    const { policy } = this;
    const leaderDest = under(this.destRoot, this.jobs.rel(group.leader));
    const dest = under(this.destRoot, this.jobs.rel(id));
    try {
      const st = this.sourceStat(id);
      if (fileKey(st) !== group.key) return this.jobs.settle(id, entryError.changed('replaced'));
      // A dry run looks at DEST as a copy would: not below a directory the run would make.
      const fresh = this.jobs.fresh(id);
      // In a dry run the leader's copy is there only if it stays as it is ('same'): a name already
      // linked to it is unchanged; one linked to a leader the real run rewrites would be linked anew.
      const leader = policy.dryRun && group.leaderOutcome !== 'same' && group.leaderOutcome !== 'fixed' ? undefined : fs.lstatSync(osPath(leaderDest), { bigint: true });
      const outcome = fresh ? undefined : existingOutcome(dest, st, policy, (have) => have.ino === leader?.ino && have.dev === leader.dev);
      if (outcome) return this.jobs.settle(id, outcome);
      if (policy.dryRun) return this.jobs.settle(id, dryRunWrite(dest, fresh));
      const tmp = tempPathOf(dest, this.runTag, id, 0);
      fs.linkSync(osPath(leaderDest), osPath(tmp));
      try {
        renameOver(tmp, dest);
      } catch (err) {
        fs.unlinkSync(osPath(tmp));
        throw err;
      }
      this.jobs.settle(id, 'copied');
    } catch (err) {
      this.jobs.settle(id, err instanceof EntryFailure ? err.error : serializeError(err));
    }
  }
}
