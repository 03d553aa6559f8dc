// Saved connections and environments as the window sees them: the server's collections
// (`/api/collections`, shared by the desktop window and every browser tab on the same
// server) and environments, the environment chosen in this window, and the secrets, which
// the server never holds. On the desktop the secrets go to the system keychain (the
// host's `secrets`); in a browser they stay in this window's memory, and opening a saved
// connection that needs one asks for it (the form the menu draws from `asking`).
// Variables are put in at connect time (`lookup`, used by the panes' connect); the pane
// keeps `{{name}}` in its settings and shows the connection's resolved URL.

import type { Host } from '../host';
import { restoreConfig, type PaneConfig } from '../store/config';
import {
  envLookup,
  secretSlots,
  secretValues,
  withoutSecrets,
  withSecrets,
  type Environment,
  type EnvVar,
  type Lookup,
  type SecretSlot,
} from '../store/vars';
import type { Api } from '../transport/api';
import type { Collection, ImportedCollections, SavedItem } from '../transport/types';
import type { PaneState } from './pane.svelte';

export type CollectionsApi = Pick<
  Api,
  | 'collections'
  | 'createCollection'
  | 'renameCollection'
  | 'deleteCollection'
  | 'addSaved'
  | 'editSaved'
  | 'deleteSaved'
  | 'duplicateSaved'
  | 'setEnvironments'
  | 'collectionsExport'
  | 'collectionsExportPath'
  | 'importCollections'
>;

/** What opening a saved connection asks of the panes. */
export interface CollectionsPanes {
  /** A new pane with these settings, connected at once. */
  openWith(config: PaneConfig, saved: { collection: string; item: string }): Promise<PaneState>;
  persist(): void;
}

export const ENVIRONMENT_KEY = 'sscope.environment';

/** Keychain keys: one entry per secret. */
export const itemSecretKey = (item: string, slot: string) => `saved/${item}/${slot}`;
export const envSecretKey = (env: string, name: string) => `env/${env}/${name}`;

/** A saved connection waiting for the secrets the user is asked for. */
export interface Asking {
  collection: string;
  item: SavedItem;
  config: PaneConfig;
  slots: SecretSlot[];
}

/** An environment as the editor holds it: secret values typed in this window. */
export interface EnvDraft {
  id?: string;
  name: string;
  vars: EnvVar[];
}

export class Collections {
  collections: Collection[] = $state([]);
  environments: Environment[] = $state([]);
  /** False with a `--memory-only` server. */
  persisted = $state(true);
  notice: string | null = $state(null);
  error: string | null = $state(null);
  loaded = $state(false);
  /** The environment chosen in this window (its id), kept in the host's storage. */
  activeEnv: string | null = $state(null);
  /** Secret variable values by environment id: this window's memory (and the keychain). */
  envSecrets: Record<string, Record<string, string>> = $state({});
  asking: Asking | null = $state(null);
  /** The last import, for the menu to report. */
  imported: ImportedCollections | null = $state(null);

  constructor(
    private readonly api: CollectionsApi,
    private readonly host: Pick<Host, 'storage' | 'secrets' | 'saveDocument'>,
    private readonly panes: CollectionsPanes,
    private readonly fallbackUrl: () => string,
  ) {
    this.activeEnv = host.storage.get(ENVIRONMENT_KEY);
  }

  get keychain(): boolean {
    return !!this.host.secrets;
  }

  get environment(): Environment | null {
    return this.environments.find((e) => e.id === this.activeEnv) ?? null;
  }

  /** Looks `{{name}}` up in the chosen environment. */
  lookup(): Lookup {
    const env = this.environment;
    return envLookup(env, env ? (this.envSecrets[env.id] ?? {}) : {});
  }

  async refresh(): Promise<void> {
    try {
      const l = await this.api.collections();
      this.collections = l.collections;
      this.environments = l.environments;
      this.persisted = l.persisted;
      this.notice = l.notice ?? null;
      this.loaded = true;
      if (this.activeEnv && !this.environment) this.chooseEnvironment(null);
      await this.loadEnvSecrets();
    } catch (e) {
      this.error = message(e);
    }
  }

  chooseEnvironment(id: string | null) {
    this.activeEnv = id;
    if (id) this.host.storage.set(ENVIRONMENT_KEY, id);
    else this.host.storage.remove(ENVIRONMENT_KEY);
  }

  /** Desktop: the secret variables' values from the keychain, for those not typed yet. */
  private async loadEnvSecrets() {
    const keys = this.host.secrets;
    if (!keys) return;
    const next = { ...this.envSecrets };
    for (const env of this.environments) {
      const mine = { ...(next[env.id] ?? {}) };
      for (const v of env.vars) {
        if (!v.secret || mine[v.name]) continue;
        try {
          const s = await keys.get(envSecretKey(env.id, v.name));
          if (s) mine[v.name] = s;
        } catch (e) {
          this.error = `reading the keychain: ${message(e)}`;
        }
      }
      next[env.id] = mine;
    }
    this.envSecrets = next;
  }

  private async run<T>(what: () => Promise<T>): Promise<T | null> {
    try {
      const out = await what();
      this.error = null;
      return out;
    } catch (e) {
      this.error = message(e);
      return null;
    }
  }

  async createCollection(name: string): Promise<Collection | null> {
    const c = await this.run(() => this.api.createCollection(name));
    if (c) this.collections = [...this.collections, c];
    return c;
  }

  async renameCollection(id: string, name: string): Promise<boolean> {
    const c = await this.run(() => this.api.renameCollection(id, name));
    if (c) this.collections = this.collections.map((x) => (x.id === id ? c : x));
    return !!c;
  }

  async deleteCollection(id: string): Promise<boolean> {
    const c = this.collections.find((x) => x.id === id);
    const ok = (await this.run(() => this.api.deleteCollection(id).then(() => true))) ?? false;
    if (ok) {
      this.collections = this.collections.filter((x) => x.id !== id);
      for (const it of c?.items ?? []) await this.forgetSecrets(it);
    }
    return ok;
  }

  /** Saves the pane's settings as a new saved connection in `collection`; its secrets go
   * to the keychain (desktop) or nowhere (browser: asked again when opened). */
  async saveCurrent(pane: PaneState, collection: string, name?: string): Promise<SavedItem | null> {
    const config = $state.snapshot(pane.config) as PaneConfig;
    const title = (name ?? config.name).trim() || config.url.trim() || 'untitled';
    const it = await this.run(() => this.api.addSaved(collection, title, withoutSecrets(config)));
    if (!it) return null;
    this.collections = this.collections.map((c) => (c.id === collection ? { ...c, items: [...c.items, it] } : c));
    await this.keepSecrets(it.id, config);
    pane.savedAs = { collection, item: it.id };
    this.panes.persist();
    return it;
  }

  /** Writes the pane's current settings back to the saved connection it came from. */
  async saveBack(pane: PaneState): Promise<boolean> {
    const to = pane.savedAs;
    if (!to) return false;
    const config = $state.snapshot(pane.config) as PaneConfig;
    // The secret slots the saved version had: one the new settings no longer have (a
    // secret header renamed or removed, bearer switched to basic) leaves the keychain.
    const before = this.collections.find((c) => c.id === to.collection)?.items.find((x) => x.id === to.item);
    const it = await this.run(() => this.api.editSaved(to.collection, to.item, { config: withoutSecrets(config) }));
    if (!it) return false;
    this.replaceItem(to.collection, it);
    await this.keepSecrets(it.id, config, before ? restoreConfig(before.config, this.fallbackUrl()) : undefined);
    return true;
  }

  async renameItem(collection: string, id: string, name: string): Promise<boolean> {
    const it = await this.run(() => this.api.editSaved(collection, id, { name }));
    if (it) this.replaceItem(collection, it);
    return !!it;
  }

  async duplicate(collection: string, id: string): Promise<SavedItem | null> {
    const it = await this.run(() => this.api.duplicateSaved(collection, id));
    if (!it) return null;
    this.collections = this.collections.map((c) => {
      if (c.id !== collection) return c;
      const at = c.items.findIndex((x) => x.id === id);
      const items = [...c.items];
      items.splice(at + 1, 0, it);
      return { ...c, items };
    });
    // The copy has the original's secrets too.
    const keys = this.host.secrets;
    if (keys) {
      const config = restoreConfig(it.config, this.fallbackUrl());
      for (const s of secretSlots(config)) {
        const v = await keys.get(itemSecretKey(id, s.key)).catch(() => null);
        if (v) await keys.set(itemSecretKey(it.id, s.key), v).catch(() => {});
      }
    }
    return it;
  }

  async deleteItem(collection: string, id: string): Promise<boolean> {
    const it = this.collections.find((c) => c.id === collection)?.items.find((x) => x.id === id);
    const ok = (await this.run(() => this.api.deleteSaved(collection, id).then(() => true))) ?? false;
    if (ok) {
      this.collections = this.collections.map((c) =>
        c.id === collection ? { ...c, items: c.items.filter((x) => x.id !== id) } : c,
      );
      if (it) await this.forgetSecrets(it);
    }
    return ok;
  }

  /** Opens a saved connection in a new pane and connects it. Secrets come from the
   * keychain; those it lacks (all, in a browser) are asked for first (`asking`). */
  async open(collection: string, item: SavedItem): Promise<PaneState | null> {
    const config = restoreConfig(item.config, this.fallbackUrl());
    const slots = secretSlots(config);
    const values: Record<string, string> = {};
    const keys = this.host.secrets;
    if (keys)
      for (const s of slots) {
        const v = await keys.get(itemSecretKey(item.id, s.key)).catch(() => null);
        if (v) values[s.key] = v;
      }
    const missing = slots.filter((s) => !values[s.key]);
    if (missing.length) {
      this.asking = { collection, item, config: withSecrets(config, values), slots: missing };
      return null;
    }
    this.asking = null;
    return this.panes.openWith(withSecrets(config, values), { collection, item: item.id });
  }

  /** Finishes an `open` with what the user typed; an empty answer leaves that secret out. */
  async answer(answers: Readonly<Record<string, string>>): Promise<PaneState | null> {
    const a = this.asking;
    if (!a) return null;
    this.asking = null;
    const typed = Object.fromEntries(Object.entries(answers).filter(([, v]) => v !== ''));
    return this.panes.openWith(withSecrets(a.config, typed), { collection: a.collection, item: a.item.id });
  }

  /** Saves the environments the editor holds: the server gets them without secret
   * values; those stay in this window (and the keychain on the desktop). */
  async saveEnvironments(drafts: EnvDraft[]): Promise<boolean> {
    const sent = drafts.map((d) => ({
      ...(d.id ? { id: d.id } : {}),
      name: d.name,
      vars: d.vars.map((v) => ({ name: v.name.trim(), value: v.secret ? '' : v.value, secret: !!v.secret })),
    }));
    const envs = await this.run(() => this.api.setEnvironments(sent));
    if (!envs) return false;
    const secrets: Record<string, Record<string, string>> = {};
    const keys = this.host.secrets;
    for (const [i, env] of envs.entries()) {
      const mine: Record<string, string> = {};
      for (const v of drafts[i]?.vars ?? []) {
        if (!v.secret) continue;
        const name = v.name.trim();
        if (v.value) mine[name] = v.value;
        if (keys) {
          const key = envSecretKey(env.id, name);
          await (v.value ? keys.set(key, v.value) : keys.remove(key)).catch((e: unknown) => {
            this.error = `keychain: ${message(e)}`;
          });
        }
      }
      secrets[env.id] = mine;
    }
    this.environments = envs;
    this.envSecrets = secrets;
    if (this.activeEnv && !this.environment) this.chooseEnvironment(null);
    return true;
  }

  /** The editor's starting point: the environments with this window's secret values. */
  drafts(): EnvDraft[] {
    return this.environments.map((e) => ({
      id: e.id,
      name: e.name,
      vars: e.vars.map((v) => ({ ...v, value: v.secret ? (this.envSecrets[e.id]?.[v.name] ?? '') : v.value })),
    }));
  }

  /** Saves a collections file (one collection, or all): no secrets are in it. */
  async exportFile(collection?: string): Promise<void> {
    await this.run(async () => {
      const text = await this.api.collectionsExport(collection);
      const c = this.collections.find((x) => x.id === collection);
      const stem = c ? c.name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'collection' : 'collections';
      await this.host.saveDocument(text, `${stem}.streamscope.json`, this.api.collectionsExportPath(collection));
    });
  }

  async importFile(file: Blob): Promise<ImportedCollections | null> {
    const r = await this.run(() => this.api.importCollections(file));
    if (r) {
      this.imported = r;
      await this.refresh();
    } else if (this.error) this.error = `import refused: ${this.error}`;
    return r;
  }

  private replaceItem(collection: string, it: SavedItem) {
    this.collections = this.collections.map((c) =>
      c.id === collection ? { ...c, items: c.items.map((x) => (x.id === it.id ? it : x)) } : c,
    );
  }

  /** Desktop: the config's secrets into the keychain; slots without a value removed, and
   * the slots of the settings it replaces (`before`) that it no longer has. */
  private async keepSecrets(item: string, config: PaneConfig, before?: PaneConfig) {
    const keys = this.host.secrets;
    if (!keys) return;
    const values = secretValues(config);
    try {
      const slots = secretSlots(config);
      for (const s of slots) {
        const key = itemSecretKey(item, s.key);
        if (values[s.key]) await keys.set(key, values[s.key]);
        else await keys.remove(key);
      }
      for (const old of before ? secretSlots(before) : [])
        if (!slots.some((s) => s.key === old.key)) await keys.remove(itemSecretKey(item, old.key));
    } catch (e) {
      this.error = `keychain: ${message(e)}`;
    }
  }

  private async forgetSecrets(it: SavedItem) {
    const keys = this.host.secrets;
    if (!keys) return;
    for (const s of secretSlots(restoreConfig(it.config, this.fallbackUrl())))
      await keys.remove(itemSecretKey(it.id, s.key)).catch(() => {});
  }
}

function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}
