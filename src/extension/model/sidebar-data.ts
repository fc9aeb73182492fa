// What the sidebar shows and when it asks the node again (pure, no 'vscode': unit-tested).
// Every refresh is addressed: data that changed fires only the items that show it (the node's
// Overview and Applications after an overview/tree refresh, one "Top by …" after its rows came),
// and expanding an item serves what is cached, fetching only when that data is stale. So an
// expanded section never refreshes the whole tree, and the whole tree never re-fetches a section.
import type { ProcessSort } from '../../core/inspect/processes';
import { Disposable, Emitter, type Event } from '../lifecycle';
import type { LostNode, NodeChange } from '../nodes';
import type { AttachedNode } from '../node-scope';
import { clusterFindingItems, findingItems, findingsSectionItems, memberItems, overviewStats, treeChildren, treeModules, type SidebarItem } from './sidebar';

export type Section = Extract<SidebarItem, { kind: 'section' }>['section'];
export const SECTIONS: readonly Section[] = ['overview', 'cluster', 'applications', 'processes', 'findings', 'sessions'];

/** The sections of a node: 'cluster' only when it lists other nodes (and is not itself reached through an entry). */
export function sectionsOf(n: AttachedNode): Section[] {
  return SECTIONS.filter((s) => s !== 'cluster' || hasCluster(n));
}

function hasCluster(n: AttachedNode): boolean {
  return n.through === undefined && (n.members?.length ?? 0) > 0;
}
export const SIDEBAR_SORTS: readonly ProcessSort[] = ['memory', 'mailbox', 'reductions'];

/** What the sidebar needs of the node manager. */
export interface SidebarSource {
  list(): AttachedNode[];
  get(node: string): AttachedNode | undefined;
  refresh(n: AttachedNode): Promise<void>;
  refreshSort(n: AttachedNode, sort: ProcessSort): Promise<void>;
  /** Asks every member of the node's cluster (n.cluster holds the answer). */
  refreshCluster(n: AttachedNode): Promise<void>;
  onDidChange: Event<NodeChange>;
  /** Nodes whose connection was lost (listed after the attached ones, with "Reattach"). */
  lost?(): LostNode[];
}

export class SidebarData extends Disposable {
  private readonly changed = this._register(new Emitter<SidebarItem | undefined>());
  /** undefined = the whole tree; an item = that item and its children. */
  readonly onDidChange: Event<SidebarItem | undefined> = this.changed.event;
  /** The same object for the same node/section/sort, so a change can name it. */
  private readonly stable = new Map<string, SidebarItem>();
  private readonly expandedSorts = new Set<string>();
  private readonly sortFetchedAt = new Map<string, number>();
  /** How long the last fetch of each sort took: a costly one (a million processes) is asked less often. */
  private readonly sortCost = new Map<string, number>();
  private readonly sortInFlight = new Set<string>();
  /** Fetches the tree is already waiting for (inside children()): no change event for them. */
  private readonly quiet = new Set<string>();
  /** Nodes whose Cluster section is expanded (kept fresh by the periodic refresh). */
  private readonly expandedClusters = new Set<string>();
  /** Nodes whose Findings section is expanded (with members: the cluster findings are kept fresh too). */
  private readonly expandedFindings = new Set<string>();
  /** Whether each node showed a Cluster section (its appearing changes the node's children). */
  private readonly clusterShown = new Map<string, boolean>();
  private readonly clusterInFlight = new Set<string>();
  /** When each node's cluster was last asked (a failed read waits as long as a good one before the next). */
  private readonly clusterAskedAt = new Map<string, number>();
  /**
   * What the tree was last given for a node's Overview and Applications: a refresh whose data shows
   * the same is not fired (re-rendering those items closes a context menu open on one of them).
   */
  private readonly served = new Map<string, string>();

  constructor(
    private readonly nodes: SidebarSource,
    private readonly staleMs: () => number,
    private readonly sessions: (node: string) => SidebarItem[],
    private readonly now: () => number = Date.now,
  ) {
    super();
    this._register(nodes.onDidChange((c) => this.onNodeChange(c)));
  }

  private item<T extends SidebarItem>(key: string, make: () => T): T {
    const existing = this.stable.get(key);
    if (existing) return existing as T;
    const made = make();
    this.stable.set(key, made);
    return made;
  }

  nodeItem(n: AttachedNode): Extract<SidebarItem, { kind: 'node' }> {
    const it = this.item<Extract<SidebarItem, { kind: 'node' }>>(`node|${n.node}`, () => ({ kind: 'node', node: n.node, env: n.env }));
    it.env = n.env;
    if (n.through !== undefined) it.through = n.through;
    else delete it.through;
    if (n.lastError) it.error = n.lastError;
    else delete it.error;
    return it;
  }

  /** Lost nodes not attached again (under another name's attach the node may be back already). */
  private lostItems(): SidebarItem[] {
    return (this.nodes.lost?.() ?? []).filter((l) => !this.nodes.get(l.node)).map((l) => ({ kind: 'lostNode', node: l.node, env: l.env, reason: l.reason, at: l.at }));
  }

  sectionItem(node: string, section: Section): Extract<SidebarItem, { kind: 'section' }> {
    return this.item(`section|${node}|${section}`, () => ({ kind: 'section' as const, node, section }));
  }

  sortItem(node: string, sort: ProcessSort): Extract<SidebarItem, { kind: 'processSort' }> {
    return this.item(`sort|${node}|${sort}`, () => ({ kind: 'processSort' as const, node, sort }));
  }

  /** The tree told us an item was expanded or collapsed: only expanded "Top by …" items are kept fresh. */
  setExpanded(item: SidebarItem, expanded: boolean): void {
    if (item.kind === 'section' && item.section === 'cluster') {
      if (expanded) this.expandedClusters.add(item.node);
      else this.expandedClusters.delete(item.node);
      return;
    }
    if (item.kind === 'section' && item.section === 'findings') {
      if (expanded) this.expandedFindings.add(item.node);
      else this.expandedFindings.delete(item.node);
      return;
    }
    if (item.kind !== 'processSort') return;
    const key = `${item.node}|${item.sort}`;
    if (expanded) this.expandedSorts.add(key);
    else this.expandedSorts.delete(key);
  }

  async children(item?: SidebarItem): Promise<SidebarItem[]> {
    if (!item) return [...this.nodes.list().map((n) => this.nodeItem(n)), ...this.lostItems()];
    const n = this.nodes.get(item.node);
    if (!n) return [];
    switch (item.kind) {
      case 'node':
        if (n.overview === null && n.lastError === null) await this.nodes.refresh(n);
        this.clusterShown.set(n.node, hasCluster(n));
        return sectionsOf(n).map((s) => this.sectionItem(n.node, s));
      case 'section':
        if (item.section === 'cluster') {
          if (this.isClusterStale(n)) {
            if (n.cluster?.overview) void this.fetchCluster(n);
            else await this.fetchCluster(n, true);
          }
          const overview = n.cluster?.overview ?? null;
          return [...memberItems(n.node, overview, n.members ?? [], n.cluster?.lastError ?? null), ...clusterFindingItems(n.node, overview)];
        }
        return this.serve(n, item.section);
      case 'app':
        return item.app.supervisor ? [{ kind: 'tree', node: n.node, app: item.app.name, tree: item.app.supervisor }] : [];
      case 'tree':
        return treeChildren(n.node, item.app, item.tree);
      case 'processSort': {
        const page = n.processes.get(item.sort);
        if (this.isStale(n.node, item.sort)) {
          // First expand: wait for the rows. Later: show the cached rows now; the fetch fires this item alone.
          if (page === undefined) await this.fetchSort(n, item.sort, true);
          else void this.fetchSort(n, item.sort);
        }
        const rows = n.processes.get(item.sort)?.rows ?? [];
        if (rows.length === 0) return [{ kind: 'message', node: n.node, label: n.lastError ?? 'no processes' }];
        const modules = treeModules(n.trees);
        return rows.map((row) => {
          const module = modules.get(row.pid);
          return { kind: 'process', node: n.node, row, sort: item.sort, ...(module ? { module } : {}) };
        });
      }
      default:
        return [];
    }
  }

  private serve(n: AttachedNode, section: Section): SidebarItem[] {
    const items = this.sectionChildren(n, section);
    if (section === 'overview' || section === 'applications') this.served.set(`${n.node}|${section}`, JSON.stringify(items));
    return items;
  }

  /** Fires a node's Overview or Applications unless the tree was given exactly what it would show now. */
  private fireIfChanged(n: AttachedNode, section: 'overview' | 'applications'): void {
    const shown = this.served.get(`${n.node}|${section}`);
    if (shown !== undefined && shown === JSON.stringify(this.sectionChildren(n, section))) return;
    this.changed.fire(this.sectionItem(n.node, section));
  }

  private sectionChildren(n: AttachedNode, section: Section): SidebarItem[] {
    switch (section) {
      case 'overview':
        return n.overview ? overviewStats(n.node, n.overview) : [{ kind: 'message', node: n.node, label: n.lastError ?? 'loading…' }];
      case 'applications':
        return (n.trees ?? []).map((app) => ({ kind: 'app', node: n.node, app }));
      case 'processes':
        return SIDEBAR_SORTS.map((sort) => this.sortItem(n.node, sort));
      case 'findings':
        if (!hasCluster(n)) return findingItems(n.node, n.diagnosis?.findings ?? null, n.facts?.findings ?? null);
        // The cluster's findings come from the same overview the Cluster section reads: asked here
        // when stale (its answer fires this section), never waited for.
        if (this.isClusterStale(n)) void this.fetchCluster(n);
        return findingsSectionItems(n.node, n.diagnosis?.findings ?? null, n.facts?.findings ?? null, n.cluster?.overview ?? null);
      case 'sessions':
        return this.sessions(n.node);
      case 'cluster':
        return [];
    }
  }

  private isClusterStale(n: AttachedNode): boolean {
    const c = n.cluster;
    if (!c || (c.overviewAt === 0 && !this.clusterAskedAt.has(n.node))) return !this.clusterInFlight.has(n.node);
    const at = Math.max(c.overviewAt, this.clusterAskedAt.get(n.node) ?? 0);
    return !this.clusterInFlight.has(n.node) && this.now() - at >= Math.max(2 * this.staleMs(), 5 * c.lastCostMs);
  }

  private async fetchCluster(n: AttachedNode, quiet = false): Promise<void> {
    if (this.clusterInFlight.has(n.node)) return;
    this.clusterInFlight.add(n.node);
    if (quiet) this.quiet.add(`cluster|${n.node}`);
    try {
      await this.nodes.refreshCluster(n);
    } finally {
      this.clusterAskedAt.set(n.node, this.now());
      this.clusterInFlight.delete(n.node);
      this.quiet.delete(`cluster|${n.node}`);
    }
  }

  private isStale(node: string, sort: ProcessSort): boolean {
    const key = `${node}|${sort}`;
    const at = this.sortFetchedAt.get(key);
    return at === undefined || this.now() - at >= Math.max(this.staleMs(), 5 * (this.sortCost.get(key) ?? 0));
  }

  private async fetchSort(n: AttachedNode, sort: ProcessSort, quiet = false): Promise<void> {
    const key = `${n.node}|${sort}`;
    if (this.sortInFlight.has(key)) return;
    this.sortInFlight.add(key);
    if (quiet) this.quiet.add(key);
    const started = this.now();
    try {
      await this.nodes.refreshSort(n, sort);
    } finally {
      this.sortCost.set(key, this.now() - started);
      this.sortFetchedAt.set(key, this.now());
      this.sortInFlight.delete(key);
      this.quiet.delete(key);
    }
  }

  /** The periodic refresh of one node (while the sidebar is visible): overview, trees, expanded sorts. */
  async refreshNode(n: AttachedNode): Promise<void> {
    await this.nodes.refresh(n);
    for (const sort of SIDEBAR_SORTS) if (this.expandedSorts.has(`${n.node}|${sort}`) && this.isStale(n.node, sort)) await this.fetchSort(n, sort);
    const clusterShownOpen = this.expandedClusters.has(n.node) || this.expandedFindings.has(n.node);
    if (clusterShownOpen && hasCluster(n) && this.isClusterStale(n)) await this.fetchCluster(n);
  }

  private onNodeChange(c: NodeChange): void {
    if (c === undefined) {
      // The list of nodes changed: forget items of nodes that are gone.
      const live = new Set(this.nodes.list().map((n) => n.node));
      for (const [key, it] of this.stable) if (!live.has(it.node)) this.stable.delete(key);
      for (const node of [...this.expandedClusters, ...this.expandedFindings, ...this.clusterShown.keys()]) {
        if (!live.has(node)) {
          this.served.delete(`${node}|overview`);
          this.served.delete(`${node}|applications`);
          this.expandedClusters.delete(node);
          this.expandedFindings.delete(node);
          this.clusterAskedAt.delete(node);
          this.clusterShown.delete(node);
        }
      }
      for (const key of [...this.expandedSorts, ...this.sortFetchedAt.keys()]) {
        if (!live.has(key.slice(0, key.lastIndexOf('|')))) {
          this.expandedSorts.delete(key);
          this.sortFetchedAt.delete(key);
          this.sortCost.delete(key);
        }
      }
      this.changed.fire(undefined);
      return;
    }
    const node = c.node.node;
    switch (c.what) {
      case 'data': {
        const had = this.stable.get(`node|${node}`);
        const before = had?.kind === 'node' ? `${had.env}|${had.error ?? ''}|${had.through ?? ''}` : null;
        const it = this.nodeItem(c.node);
        const shown = this.clusterShown.get(node);
        // The Cluster section appears (or goes) with the node's members: the node's children change.
        if (`${it.env}|${it.error ?? ''}|${it.through ?? ''}` !== before || (shown !== undefined && shown !== hasCluster(c.node))) this.changed.fire(it);
        this.fireIfChanged(c.node, 'overview');
        this.fireIfChanged(c.node, 'applications');
        return;
      }
      case 'sorts':
        for (const sort of SIDEBAR_SORTS) {
          const key = `${node}|${sort}`;
          if (this.sortInFlight.has(key) && !this.quiet.has(key)) this.changed.fire(this.sortItem(node, sort));
        }
        return;
      case 'findings':
        this.changed.fire(this.sectionItem(node, 'findings'));
        return;
      case 'cluster':
        if (!this.quiet.has(`cluster|${node}`)) this.changed.fire(this.sectionItem(node, 'cluster'));
        // The Findings section lists the cluster findings too (it never waits for them: always fired).
        if (hasCluster(c.node)) this.changed.fire(this.sectionItem(node, 'findings'));
        return;
    }
  }
}
