import { describe, expect, it } from 'vitest';
import type { SecretStore } from '../host';
import { defaultConfig, type PaneConfig } from '../store/config';
import type { Collection, SavedItem } from '../transport/types';
import { Collections, type CollectionsApi } from './collections.svelte';
import { PaneState } from './pane.svelte';
import { memoryStorage } from '../host/browser';

/** A keychain in memory, to see what the desktop would keep. */
function memoryKeychain(): SecretStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    get: async (k) => map.get(k) ?? null,
    set: async (k, v) => void map.set(k, v),
    remove: async (k) => void map.delete(k),
  };
}

/** A stand-in for the server's collections routes that records what it was sent. */
function setup(keychain?: SecretStore) {
  const sent: unknown[] = [];
  const opened: PaneConfig[] = [];
  let n = 0;
  const cols: Collection[] = [{ id: 'k1', name: 'Team', items: [] }];
  const api = {
    collections: async () => ({ persisted: true, collections: cols, environments: [] }),
    addSaved: async (collection: string, name: string, config: object) => {
      sent.push(config);
      const it: SavedItem = { id: `i${++n}`, name, config: config as Record<string, unknown> };
      cols.find((c) => c.id === collection)?.items.push(it);
      return it;
    },
    editSaved: async (_c: string, id: string, patch: { config?: object }) => {
      sent.push(patch.config);
      return { id, name: 'x', config: patch.config as Record<string, unknown> };
    },
    setEnvironments: async (envs: { id?: string; name: string; vars: unknown[] }[]) => {
      sent.push(envs);
      return envs.map((e, i) => ({ id: e.id ?? `e${i}`, name: e.name, vars: e.vars as never }));
    },
  } as unknown as CollectionsApi;
  const host = {
    storage: memoryStorage(),
    secrets: keychain,
    saveDocument: async () => 'saved' as const,
  };
  const panes = {
    openWith: async (config: PaneConfig) => {
      opened.push(config);
      return new PaneState('p', config);
    },
    persist: () => {},
  };
  const c = new Collections(api, host, panes, () => 'ws://127.0.0.1:4000/demo/ws/ticker');
  return { c, sent, opened };
}

function paneWithSecrets(): PaneState {
  return new PaneState('p1', {
    ...defaultConfig('wss://{{host}}/feed'),
    auth: 'bearer',
    bearer: 'tok-SECRET',
    headers: [{ name: 'X-Api-Key', value: 'key-SECRET', on: true, secret: true }],
  });
}

describe('saved connections', () => {
  it('send the server no secret; the desktop keychain gets them and opening needs no question', async () => {
    const keys = memoryKeychain();
    const { c, sent, opened } = setup(keys);
    await c.refresh();
    const it = await c.saveCurrent(paneWithSecrets(), 'k1', 'feed');
    expect(it).not.toBeNull();
    expect(JSON.stringify(sent)).not.toContain('SECRET');
    expect([...keys.map.entries()]).toEqual([
      [`saved/${it?.id}/bearer`, 'tok-SECRET'],
      [`saved/${it?.id}/header X-Api-Key`, 'key-SECRET'],
    ]);
    await c.open('k1', it as SavedItem);
    expect(c.asking).toBeNull();
    expect(opened[0].bearer).toBe('tok-SECRET');
    expect(opened[0].headers[0].value).toBe('key-SECRET');
    expect(opened[0].url).toBe('wss://{{host}}/feed');
  });

  it('saved back with a secret header renamed and the bearer dropped, leave no stale keychain entry', async () => {
    const keys = memoryKeychain();
    const { c } = setup(keys);
    await c.refresh();
    const pane = paneWithSecrets();
    const it = (await c.saveCurrent(pane, 'k1', 'feed')) as SavedItem;
    pane.config = {
      ...pane.config,
      auth: 'none',
      bearer: '',
      headers: [{ name: 'X-Token', value: 'new-SECRET', on: true, secret: true }],
    };
    expect(await c.saveBack(pane)).toBe(true);
    expect([...keys.map.entries()]).toEqual([[`saved/${it.id}/header X-Token`, 'new-SECRET']]);
  });

  it('in a browser are opened only after the secrets are asked for again', async () => {
    const { c, sent, opened } = setup();
    await c.refresh();
    const it = (await c.saveCurrent(paneWithSecrets(), 'k1', 'feed')) as SavedItem;
    expect(JSON.stringify(sent)).not.toContain('SECRET');
    expect(await c.open('k1', it)).toBeNull();
    expect(c.asking?.slots.map((s) => s.key)).toEqual(['bearer', 'header X-Api-Key']);
    expect(opened).toHaveLength(0);
    await c.answer({ bearer: 'typed', 'header X-Api-Key': 'typed-key' });
    expect(c.asking).toBeNull();
    expect(opened[0].bearer).toBe('typed');
    expect(opened[0].headers[0].value).toBe('typed-key');
  });

  it('keep secret variables off the server and resolve them in this window', async () => {
    const keys = memoryKeychain();
    const { c, sent } = setup(keys);
    await c.refresh();
    await c.saveEnvironments([
      {
        name: 'staging',
        vars: [
          { name: 'host', value: 'staging.example' },
          { name: 'token', value: 'var-SECRET', secret: true },
        ],
      },
    ]);
    expect(JSON.stringify(sent)).not.toContain('var-SECRET');
    expect(keys.map.get('env/e0/token')).toBe('var-SECRET');
    c.chooseEnvironment('e0');
    const look = c.lookup();
    expect(look('token')).toEqual({ value: 'var-SECRET' });
    expect(look('host')).toEqual({ value: 'staging.example' });
    expect('missing' in look('nope') && look('nope')).toMatchObject({ missing: expect.stringContaining('"staging"') });
  });
});
