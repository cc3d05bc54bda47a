// The index from watched upstream packages to the variants that use them, so that an upstream
// change enqueues only the affected variants and no reconcile lists every object.

/** What a variant follows in an upstream repository. */
export interface UpstreamWatch {
  /** Identity of the upstream repository (normalized URL). */
  repo: string;
  /** Package path inside the repository (including the Repository's directory). */
  package: string;
  /** What to follow: `latest` (newest published revision), `ref:<ref>`, `revision:<n>`, `workspace:<ws>`, `downstream`. */
  track: string;
}

interface Entry {
  watch: UpstreamWatch;
  variants: Set<string>;
}

const keyOf = (watch: UpstreamWatch) => `${watch.package}\u0000${watch.track}`;

export class UpstreamIndex {
  /** repo → (package + track) → entry */
  private readonly byRepo = new Map<string, Map<string, Entry>>();
  private readonly byVariant = new Map<string, UpstreamWatch>();

  /** Records that `variant` (a namespace/name key) follows `watch`, replacing what it followed before. */
  set(variant: string, watch: UpstreamWatch): void {
    const current = this.byVariant.get(variant);
    if (current && current.repo === watch.repo && keyOf(current) === keyOf(watch)) return;
    this.delete(variant);
    let entries = this.byRepo.get(watch.repo);
    if (!entries) this.byRepo.set(watch.repo, (entries = new Map()));
    let entry = entries.get(keyOf(watch));
    if (!entry) entries.set(keyOf(watch), (entry = { watch, variants: new Set() }));
    entry.variants.add(variant);
    this.byVariant.set(variant, watch);
  }

  delete(variant: string): void {
    const watch = this.byVariant.get(variant);
    if (!watch) return;
    this.byVariant.delete(variant);
    const entries = this.byRepo.get(watch.repo);
    const entry = entries?.get(keyOf(watch));
    entry?.variants.delete(variant);
    if (entry?.variants.size === 0) entries!.delete(keyOf(watch));
    if (entries?.size === 0) this.byRepo.delete(watch.repo);
  }

  /** The distinct watches on one repository (each resolved once per change, however many variants share it). */
  watchesOf(repo: string): UpstreamWatch[] {
    return [...(this.byRepo.get(repo)?.values() ?? [])].map((e) => e.watch);
  }

  variantsOf(watch: UpstreamWatch): string[] {
    return [...(this.byRepo.get(watch.repo)?.get(keyOf(watch))?.variants ?? [])];
  }

  /** Repositories that at least one variant follows. */
  repositories(): string[] {
    return [...this.byRepo.keys()];
  }

  get size(): number {
    return this.byVariant.size;
  }
}
