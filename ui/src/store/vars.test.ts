import { describe, expect, it } from 'vitest';
import { buildOpen, defaultConfig, persistable, restoreConfig, type PaneConfig } from './config';
import {
  envLookup,
  fillKnown,
  resolveConfig,
  secretSlots,
  secretValues,
  substitute,
  varsIn,
  varsOfConfig,
  withoutSecrets,
  withSecrets,
  type Environment,
} from './vars';

const staging: Environment = {
  id: 'e1',
  name: 'staging',
  vars: [
    { name: 'host', value: 'staging.example:8443' },
    { name: 'team', value: 'ops' },
    { name: 'token', value: '', secret: true },
  ],
};

function config(over: Partial<PaneConfig> = {}): PaneConfig {
  return { ...defaultConfig('wss://{{host}}/feed?team={{ team }}'), ...over };
}

describe('variables', () => {
  it('finds each variable once, in order, spaces inside the braces allowed', () => {
    expect(varsIn('{{a}}/{{ b }}/{{a}}/{{not closed')).toEqual(['a', 'b']);
    expect(varsIn('{{1x}} {{}} { {a} }')).toEqual([]);
  });

  it('lists the variables of every field that is sent, enabled headers only', () => {
    const c = config({
      headers: [
        { name: 'X-Team', value: '{{team}}', on: true },
        { name: 'X-Off', value: '{{off}}', on: false },
      ],
      body: '{"k": "{{key}}"}',
    });
    expect(varsOfConfig(c)).toEqual(['host', 'team', 'key']);
  });

  it('puts values in the URL, headers, token and body, and leaves the pane settings as typed', () => {
    const c = config({
      auth: 'bearer',
      bearer: '{{token}}',
      headers: [{ name: 'X-Team', value: 'team-{{team}}', on: true }],
      method: 'POST',
      body: '{"team":"{{team}}"}',
    });
    const r = resolveConfig(c, envLookup(staging, { token: 's3cr3t' }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.url).toBe('wss://staging.example:8443/feed?team=ops');
    expect(r.config.headers[0].value).toBe('team-ops');
    expect(r.config.bearer).toBe('s3cr3t');
    expect(r.config.body).toBe('{"team":"ops"}');
    expect(c.url).toBe('wss://{{host}}/feed?team={{ team }}');
    const built = buildOpen(r.config);
    expect(built.ok && built.request.url).toBe('wss://staging.example:8443/feed?team=ops');
  });

  it('names an undefined variable and the environment instead of sending the braces', () => {
    const r = resolveConfig(config({ url: 'ws://{{host}}/{{path}}' }), envLookup(staging, {}));
    expect(r).toMatchObject({ ok: false, field: 'url' });
    expect(!r.ok && r.message).toContain('{{path}} is not defined in the environment "staging"');
  });

  it('names a secret variable with no value in this window', () => {
    const r = resolveConfig(config({ auth: 'bearer', bearer: '{{token}}' }), envLookup(staging, {}));
    expect(r).toMatchObject({ ok: false, field: 'auth' });
    expect(!r.ok && r.message).toContain('{{token}} is secret in the environment "staging"');
  });

  it('says to choose an environment when none is chosen', () => {
    const r = substitute('ws://{{host}}/', envLookup(null, {}));
    expect(!r.ok && r.message).toContain('no environment is chosen');
    expect(substitute('ws://plain/', envLookup(null, {}))).toEqual({ ok: true, text: 'ws://plain/' });
  });

  it('does not read a value as a variable again', () => {
    const env: Environment = { id: 'e', name: 'e', vars: [{ name: 'a', value: '{{b}}' }] };
    const r = substitute('{{a}}', envLookup(env, {}));
    expect(r).toEqual({ ok: true, text: '{{b}}' });
  });
});

describe('secrets', () => {
  const withAll = config({
    auth: 'bearer',
    bearer: 'tok-1',
    basicPass: 'pw-2',
    headers: [
      { name: 'X-Api-Key', value: 'key-3', on: true, secret: true },
      { name: 'X-Plain', value: 'plain', on: true },
    ],
  });

  it('are left out of what is saved, and only they', () => {
    const kept = withoutSecrets(withAll);
    const text = JSON.stringify(kept);
    for (const s of ['tok-1', 'pw-2', 'key-3']) expect(text).not.toContain(s);
    expect(kept.headers[1].value).toBe('plain');
    expect(kept.headers[0]).toMatchObject({ name: 'X-Api-Key', secret: true, value: '' });
  });

  it('are left out of the workspace in storage too', () => {
    const text = JSON.stringify(persistable(withAll));
    for (const s of ['tok-1', 'pw-2', 'key-3']) expect(text).not.toContain(s);
    expect(restoreConfig(JSON.parse(text), 'ws://x').headers[0].secret).toBe(true);
  });

  it('are named by the keys an export lists, and put back from them', () => {
    expect(secretSlots(withAll).map((s) => s.key)).toEqual(['bearer', 'header X-Api-Key']);
    expect(secretValues(withAll)).toEqual({ bearer: 'tok-1', 'header X-Api-Key': 'key-3' });
    const back = withSecrets(withoutSecrets(withAll), { bearer: 'tok-1', 'header X-Api-Key': 'key-3' });
    expect(back.bearer).toBe('tok-1');
    expect(back.headers[0].value).toBe('key-3');
    expect(back.headers[1].value).toBe('plain');
  });

  it('a secret header without its value is refused at connect, not sent empty', () => {
    const stripped = { ...withoutSecrets(withAll), url: 'ws://127.0.0.1:1/' };
    const b1 = buildOpen(stripped);
    expect(b1).toMatchObject({ ok: false, field: 'headers' });
    expect(!b1.ok && b1.message).toContain('X-Api-Key is secret');
    const b2 = buildOpen(withSecrets(stripped, { 'header X-Api-Key': 'key-3' }));
    expect(b2).toMatchObject({ ok: false, field: 'auth' });
    expect(buildOpen(withSecrets(stripped, { 'header X-Api-Key': 'k', bearer: 't' })).ok).toBe(true);
  });
});

describe('variables in a message', () => {
  const env = {
    id: 'e1',
    name: 'local',
    vars: [
      { name: 'user', value: 'ada' },
      { name: 'token', value: '', secret: true },
    ],
  };
  it('fills what has a value and leaves the rest as typed, naming both', () => {
    const r = fillKnown('{"u":"{{user}}","t":"{{token}}","x":"{{ nope }}","again":"{{user}}"}', envLookup(env, {}));
    expect(r.text).toBe('{"u":"ada","t":"{{token}}","x":"{{ nope }}","again":"ada"}');
    expect(r.filled).toEqual(['user']);
    expect(r.left).toEqual(['token', 'nope']);
  });
  it('uses a secret value this window holds', () => {
    expect(fillKnown('Bearer {{token}}', envLookup(env, { token: 's3' })).text).toBe('Bearer s3');
  });
  it('leaves every variable as typed when no environment is chosen', () => {
    const r = fillKnown('{{user}}', envLookup(null, {}));
    expect(r).toEqual({ text: '{{user}}', filled: [], left: ['user'] });
  });
});
